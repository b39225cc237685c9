"""Signed, expiring links in customer emails (a quote's approval page).

A link carries a JWT (HS256) naming the repair order, the customer and the quote version,
with an expiry; the web app sends it back and the API checks it before showing the quote.
The secret is shared by every task (``REGENZET_LINK_SECRET`` in production, from Secrets
Manager); locally it is generated once in the data directory. It is deliberately not the API
token key: a link grants one narrow thing and cannot be used as a bearer token.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt

from regenzet.application.ports import Clock

AUDIENCE = "regenzet-quote-approval"
DEFAULT_TTL = timedelta(days=7)


class InvalidLinkError(ValueError):
    """The link's token is forged, expired or for something else."""


class SignedLinks:
    def __init__(
        self,
        secret: bytes,
        base_url: str,
        clock: Clock,
        *,
        issuer: str = "regenzet",
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the link secret must be at least 32 bytes")
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.issuer = issuer
        self.ttl = ttl

    @classmethod
    def secret_in(cls, directory: Path) -> bytes:
        """The local secret, created on first use (0600)."""
        path = directory / "link-secret"
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def quote(self, order_id: UUID, customer_id: UUID, quote_version: int) -> tuple[str, datetime]:
        now = self.clock.now()
        expires = now + self.ttl
        token = jwt.encode(
            {
                "iss": self.issuer,
                "aud": AUDIENCE,
                "sub": str(customer_id),
                "ro": str(order_id),
                "qv": quote_version,
                "iat": int(now.timestamp()),
                "exp": int(expires.timestamp()),
            },
            self._secret,
            algorithm="HS256",
        )
        return f"{self.base_url}/portal/repair-orders/{order_id}/quote?token={token}", expires

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a link this service signed, unexpired by the same clock that issued
        it (so a business clock, as in the demo, issues and expires links consistently)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "sub", "aud", "iss", "ro", "qv"],
                    "verify_exp": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidLinkError(str(exc)) from None
        expires = claims["exp"]
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise InvalidLinkError("exp is not a timestamp")
        if self.clock.now().timestamp() >= expires:
            raise InvalidLinkError("the link has expired")
        return claims


__all__ = ["AUDIENCE", "InvalidLinkError", "SignedLinks"]
