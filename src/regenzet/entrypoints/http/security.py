"""Who may call what: client address, rate limits, bearer authentication and the role policy.

One guard on the API router does it all, in this order, so each step protects the next:

1. the client's address (``X-Forwarded-For`` is believed only from configured trusted proxies,
   so a spoofed header cannot reset a limit) and its per-address budget — this also slows token
   guessing, which happens before anyone is authenticated;
2. the bearer token, verified by the identity port (every failure is the same 401);
3. the subject's own budget;
4. the operation's entry in the role policy (403 otherwise; unknown operations are refused).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

import attrs
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from regenzet.application.identity import AuthenticationError, Principal, TokenVerifier
from regenzet.entrypoints.http.policy import allowed
from regenzet.entrypoints.http.problems import ApiError

# Bearer tokens larger than this are refused before any parsing (a JWT we issue is < 1 KB;
# Cognito's are a few KB).
MAX_TOKEN_BYTES = 8192

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Trusted proxy addresses or CIDR ranges (``10.0.0.0/8``)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]
) -> str:
    """The caller's address: the peer, unless the peer is a trusted proxy, in which case the
    right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy."""
    normalised = _ip(peer) if peer else None
    peer = str(normalised) if normalised is not None else (peer or "unknown")
    if not trusted or not _is_trusted(peer, trusted) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            ip = _ip(hop)
            # Garbage in the header: fall back to the proxy itself.
            return str(ip) if ip is not None else peer
    return hops[0] if hops else peer


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, with an IPv4 address seen through a dual-stack socket (``::ffff:a.b.c.d``)
    turned back into IPv4 so it matches IPv4 ranges."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in trusted)


class RateLimiter:
    """Token buckets per key: ``limit`` requests per ``period`` seconds, bursts up to ``limit``.

    In process memory: each API task enforces its own budget (API Gateway throttles in front
    of all tasks in production). ``limit == 0`` disables the limiter.
    """

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.period = period
        self._rate = limit / period if limit else 0.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Takes one token; returns 0 when allowed, else the seconds until one is available."""
        if not self.limit:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_keys:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def _prune(self, now: float) -> None:
        # Buckets that have refilled completely carry no information: forget them.
        full = [
            k
            for k, (t, last) in self._buckets.items()
            if t + (now - last) * self._rate >= self.limit
        ]
        for k in full:
            del self._buckets[k]


@attrs.frozen
class Gatekeeper:
    verifier: TokenVerifier
    per_ip: RateLimiter
    per_subject: RateLimiter
    trusted_proxies: tuple[IPNetwork, ...] = ()

    def client_ip(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if "client_ip" not in state:
            peer = connection.client.host if connection.client else None
            state["client_ip"] = client_address(
                peer, connection.headers.get("x-forwarded-for"), self.trusted_proxies
            )
        return str(state["client_ip"])

    def authenticate(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_BYTES:
            raise AuthenticationError
        return self.verifier.verify(token)

    def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        wait = self.per_ip.acquire(self.client_ip(connection))
        if wait:
            raise _too_many(wait)
        try:
            principal = self.authenticate(connection)
        except AuthenticationError:
            raise NotAuthorizedException(
                "invalid or expired token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        connection.scope["user"] = principal
        wait = self.per_subject.acquire(principal.subject)
        if wait:
            raise _too_many(wait)
        operation_id = getattr(handler, "operation_id", None)
        operation = operation_id if isinstance(operation_id, str) else ""
        if not allowed(operation, principal.role):
            raise PermissionDeniedException(
                f"role {principal.role.value} may not call {operation or 'this operation'}"
            )


def _too_many(wait: float) -> ApiError:
    return ApiError(
        429,
        "rate-limited",
        "too many requests; slow down",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def principal_of(scope: Any) -> Principal:
    """The principal the router's guard authenticated (a 401 if, impossibly, there is none)."""
    user = scope.get("user")
    if not isinstance(user, Principal):
        raise AuthenticationError
    return user


def own_staff_id(principal: Principal) -> UUID:
    """The caller's own staff id: technicians act in their own name, never a body field's."""
    if principal.staff_id is None:  # staff tokens always carry one; refuse rather than guess
        raise AuthenticationError
    return principal.staff_id
