"""Identity port: who is calling, as proven by a bearer token (DESIGN §1 roles, §3 "identity").

The application only knows a verified :class:`Principal`; how a token is checked (a locally
generated key pair, or Cognito's JWKS) is an adapter's business. Every verification failure is
the same :class:`AuthenticationError` with the same message, so a caller learns nothing about
*why* a forged or stale token was refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol
from uuid import UUID

import attrs

from regenzet.application.errors import ApplicationError
from regenzet.domain.common import Actor, Role

AUTHENTICATION_FAILED = "invalid or expired token"

# Tokens minted locally live an hour unless asked otherwise, never more than 30 days.
DEFAULT_TOKEN_TTL = timedelta(hours=1)
MAX_TOKEN_TTL = timedelta(days=30)

# Roles a token may carry. ``system`` is for in-process automation (followers, demo seeding)
# and must never be reachable from outside.
TOKEN_ROLES: frozenset[Role] = frozenset(Role) - {Role.SYSTEM}
STAFF_ROLES: frozenset[Role] = frozenset({Role.TECHNICIAN, Role.ADVISOR, Role.MANAGER})


class AuthenticationError(Exception):
    """A bearer token was missing, malformed, forged, stale or not meant for us (HTTP 401).

    The message is always :data:`AUTHENTICATION_FAILED`: no detail leaks to the caller.
    """

    def __init__(self) -> None:
        super().__init__(AUTHENTICATION_FAILED)


class IdentityUnavailableError(ApplicationError):
    """The identity provider's signing keys could not be fetched (HTTP 503, not 401: the
    caller's token may be perfectly good)."""

    def __init__(self) -> None:
        super().__init__("the identity provider is unavailable; retry shortly")


class InvalidPrincipalError(ApplicationError):
    """The claims do not describe a principal a token may carry (for example role ``system``).

    Raised when a principal is built; verifiers turn it into :class:`AuthenticationError`, the
    token CLI shows its message.
    """


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _validate(principal: Principal) -> None:
    if not principal.subject or len(principal.subject) > 255:
        raise InvalidPrincipalError("subject must be 1-255 characters")
    if principal.role not in TOKEN_ROLES:
        raise InvalidPrincipalError(f"role {principal.role.value!r} cannot be given to a token")
    if principal.role is Role.CUSTOMER:
        if principal.customer_id is None:
            raise InvalidPrincipalError("a customer token needs a customer id")
        if principal.staff_id is not None:
            raise InvalidPrincipalError("a customer token cannot carry a staff id")
        return
    role = principal.role.value
    if principal.customer_id is not None:
        raise InvalidPrincipalError(f"{_article(role)} {role} token cannot carry a customer id")
    if principal.role in STAFF_ROLES and principal.staff_id is None:
        raise InvalidPrincipalError(f"{_article(role)} {role} token needs a staff id")


@attrs.frozen
class Principal:
    """The verified caller: the token's subject, its role and the record it stands for.

    A customer carries ``customer_id`` (object-level checks compare against it); technicians,
    advisors and managers carry ``staff_id``; an auditor needs neither (a staff id is allowed).
    Role ``system`` is refused.
    """

    subject: str
    role: Role
    customer_id: UUID | None = None
    staff_id: UUID | None = None

    def __attrs_post_init__(self) -> None:
        _validate(self)

    def actor(self) -> Actor:
        """The actor recorded on the events this principal causes (ADR 0006)."""
        return Actor(self.subject, self.role)


class TokenVerifier(Protocol):
    """Checks a bearer token and says who it belongs to.

    Raises :class:`AuthenticationError` (always the same message) for any token it does not
    fully trust.
    """

    def verify(self, token: str) -> Principal: ...


class TokenIssuer(Protocol):
    """Mints bearer tokens for a principal (local development and demos; Cognito in production)."""

    def issue(self, principal: Principal, ttl: timedelta = DEFAULT_TOKEN_TTL) -> str: ...
