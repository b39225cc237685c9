"""Idempotency keys recorded in the same transaction as the events they guard (ADR 0024).

A write with an ``Idempotency-Key`` first *looks* the key up (:class:`IdempotencyStore`): a
record for the same request is replayed, one for a different request is a 422. Otherwise the
command runs with a :class:`PendingKey` set for the current context (:func:`recording`); the
event recorder writes the key row and the response in the transaction that inserts the
command's events, so the two commit together or not at all. If another request with the same
key committed first, that transaction is refused (:class:`IdempotencyKeyTakenError`) and rolls
back, and the caller replays the winner's response.

Records are keyed by (scope, key): the scope is the authenticated subject, so one caller's keys
never collide with another's; keys are at most 255 characters. All datetimes are timezone-aware
UTC; the caller passes ``now`` so tests control time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import attrs

# How long a key is remembered, counted from the commit of its command.
DEFAULT_RETENTION = timedelta(hours=24)


@attrs.frozen
class StoredResponse:
    """The response to replay byte for byte."""

    status_code: int
    body: bytes  # the JSON body as sent
    headers: dict[str, str]  # the few headers to replay (ETag, Location, Content-Type)


@attrs.frozen
class KeyRecord:
    """A committed key: the request it was used for and the response it got."""

    fingerprint: str
    created_at: datetime
    response: StoredResponse


class LookupOutcome(Enum):
    ABSENT = "absent"  # no live record: run the command (with a PendingKey)
    REPLAY = "replay"  # the same request was applied: send its response again
    MISMATCH = "mismatch"  # the key was used with a different request (HTTP 422)


@attrs.frozen
class Lookup:
    outcome: LookupOutcome
    response: StoredResponse | None = None  # set only for REPLAY


class IdempotencyKeyTakenError(Exception):
    """Another transaction committed this key first; the one raising it rolled back."""

    def __init__(self, scope: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of {scope!r} was committed by another request")
        self.scope = scope
        self.key = key


Responder = Callable[[UUID, int, int | None], StoredResponse]


@attrs.define
class PendingKey:
    """A key the event recorder writes with the events of the command running now.

    ``respond(id, version, position)`` builds the response from what only the transaction
    knows (the log position); the workshop names the command's primary aggregate before it
    saves (:meth:`bind`). Once the recorder committed, ``response`` holds exactly what it
    stored, and the caller sends that.
    """

    scope: str
    key: str
    fingerprint: str
    now: datetime
    retention: timedelta
    respond: Responder
    primary: tuple[UUID, int] | None = None
    response: StoredResponse | None = None
    # What the use case returns beyond the receipt (an upload ticket), for ``respond``.
    result: Any = None

    @property
    def expired_before(self) -> datetime:
        """Records created at or before this instant are dead and may be overwritten."""
        return self.now - self.retention

    def bind(self, aggregate_id: UUID, version: int, result: Any = None) -> None:
        # The latest save names the response: a save refused by a conflict and retried on a
        # reloaded aggregate (a media confirm) must not replay the failed attempt's version.
        self.primary = (aggregate_id, version)
        self.result = result

    def response_for(self, position: int | None) -> StoredResponse:
        if self.primary is None:
            raise RuntimeError("the command saved without naming its aggregate (PendingKey.bind)")
        return self.respond(self.primary[0], self.primary[1], position)


_pending: ContextVar[PendingKey | None] = ContextVar("regenzet_pending_key", default=None)


def pending_key() -> PendingKey | None:
    """The key to record with the next events saved in this context, if not recorded yet."""
    pending = _pending.get()
    return pending if pending is not None and pending.response is None else None


@contextmanager
def recording(pending: PendingKey) -> Iterator[PendingKey]:
    """Makes ``pending`` the key the recorder writes with the events saved inside the block."""
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def decide(
    record: KeyRecord | None, fingerprint: str, now: datetime, retention: timedelta
) -> Lookup:
    """The rule every adapter applies to the record it found (if any)."""
    if record is None or record.created_at + retention <= now:
        return Lookup(LookupOutcome.ABSENT)
    if record.fingerprint != fingerprint:
        return Lookup(LookupOutcome.MISMATCH)
    return Lookup(LookupOutcome.REPLAY, record.response)


class IdempotencyStore(Protocol):
    """Reads committed keys (the recorder writes them, in the events' transaction).

    ``lookup`` applies :func:`decide`; a record past its retention is absent whether or not
    it was purged yet. ``purge_expired`` deletes such records and says how many.
    """

    retention: timedelta

    def lookup(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Lookup: ...

    def purge_expired(self, *, now: datetime) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class KeyRecorder(Protocol):
    """What an event recorder that writes keys offers to read and prune them."""

    def select_key_record(self, scope: str, key: str) -> KeyRecord | None: ...

    def delete_key_records(self, *, created_before: datetime) -> int: ...
