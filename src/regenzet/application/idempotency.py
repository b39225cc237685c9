"""Idempotency-key port: remembers the first response to a write so a retry can replay it.

The HTTP API claims the request's ``Idempotency-Key`` before running a write and completes it
with the response afterwards. Records are keyed by (scope, key): the scope is the
authenticated subject, so one caller's keys never collide with another's; keys are at most
255 characters. A claim is atomic across threads and processes; see :class:`IdempotencyStore`.
All datetimes are timezone-aware UTC; the caller passes ``now`` so tests control time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

import attrs

# How long a key is remembered, counted from its (first) claim.
DEFAULT_RETENTION = timedelta(hours=24)
# How long an unfinished claim blocks retries before another request may take it over: longer
# than any write takes, so only a claimant that died loses its key.
DEFAULT_LEASE = timedelta(seconds=60)


@attrs.frozen
class StoredResponse:
    """The response to replay byte for byte."""

    status_code: int
    body: bytes  # the JSON body as sent
    headers: dict[str, str]  # the few headers to replay (ETag, Location, Content-Type)


class ClaimOutcome(Enum):
    ACQUIRED = "acquired"  # the caller owns the key now and must complete() or release() it
    REPLAY = "replay"  # a completed response exists for the same request: send it again
    MISMATCH = "mismatch"  # the key was used with a different request (HTTP 422)
    IN_PROGRESS = "in_progress"  # the same request is still running elsewhere (HTTP 409)


@attrs.frozen
class Claim:
    outcome: ClaimOutcome
    response: StoredResponse | None = None  # set only for REPLAY


class IdempotencyStore(Protocol):
    """Durable idempotency records.

    ``claim`` takes the key when no live record exists (ACQUIRED); a live record for a
    different request is a MISMATCH; a completed one for the same request is a REPLAY; one
    still running is IN_PROGRESS unless its lease ran out (its process died), in which case it
    is taken over. ``complete`` stores the response; ``release`` forgets an unfinished claim
    (the command failed and wrote nothing) but never a completed one; ``purge_expired``
    deletes records past their retention and says how many. A record past its retention is
    ignored by ``claim`` whether or not it was purged yet.
    """

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim: ...

    def complete(
        self, scope: str, key: str, response: StoredResponse, *, now: datetime
    ) -> None: ...

    def release(self, scope: str, key: str) -> None: ...

    def purge_expired(self, *, now: datetime) -> int: ...

    def close(self) -> None: ...
