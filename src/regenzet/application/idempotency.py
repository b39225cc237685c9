"""Idempotency-key port: remembers the first response to a write so a retry can replay it.

Records are keyed by (scope, key): the scope is the authenticated subject, so one caller's
keys never collide with another's. A claim is atomic; see :class:`IdempotencyStore`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

import attrs

DEFAULT_RETENTION = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=60)


@attrs.frozen
class StoredResponse:
    status_code: int
    body: bytes
    headers: dict[str, str]


class ClaimOutcome(Enum):
    ACQUIRED = "acquired"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_PROGRESS = "in_progress"


@attrs.frozen
class Claim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    """Durable idempotency records.

    ``claim`` takes the key when no live record exists (ACQUIRED); a live record for a
    different request is a MISMATCH; a completed one for the same request is a REPLAY; one
    still running is IN_PROGRESS unless its lease ran out (its process died), in which case it
    is taken over. ``complete`` stores the response; ``release`` forgets an unfinished claim
    (the command failed and wrote nothing).
    """

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim: ...

    def complete(
        self, scope: str, key: str, response: StoredResponse, *, now: datetime
    ) -> None: ...

    def release(self, scope: str, key: str) -> None: ...

    def purge_expired(self, *, now: datetime) -> int: ...

    def close(self) -> None: ...
