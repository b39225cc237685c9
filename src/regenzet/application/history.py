"""What auditors read: the global log with filters, an aggregate's state at a version or at a
point in time, and the difference between two versions (DESIGN §5).

State is rebuilt by folding the stored events with the library's own ``mutate`` (nothing is
re-implemented), so "the state at version 7" is exactly what the application saw then.
Times are the events' recorded timestamps (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
import jsonpatch
import jsonpointer

from regenzet.application import views
from regenzet.application.errors import NotFoundError
from regenzet.application.workshop import Workshop
from regenzet.domain.common import DomainValidationError

# The library's bookkeeping attributes of an aggregate, shown as header fields instead.
_HEADER = {"_id", "_version", "_created_on", "_modified_on", "_pending_events"}

LOG_SCAN_LIMIT = 5_000


@attrs.frozen
class AggregateState:
    aggregate_id: UUID
    aggregate_type: str
    version: int
    created_on: datetime
    modified_on: datetime
    state: dict[str, Any]


@attrs.frozen
class Change:
    """One RFC 6902 operation, with the value it replaced or removed."""

    op: str
    path: str
    value: Any = None
    old: Any = None


@attrs.frozen
class Diff:
    aggregate_id: UUID
    aggregate_type: str
    from_version: int
    to_version: int
    changes: list[Change]
    events: list[views.HistoryEntry]


@attrs.frozen
class LogEntry:
    notification_id: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    timestamp: datetime
    event_type: str
    actor: Any
    data: dict[str, Any]


@attrs.frozen
class LogPage:
    """Entries that match, in log order. ``next_after`` is where to continue (None: the end of
    the log was reached). A page scans at most ``LOG_SCAN_LIMIT`` events, so with sparse
    filters it may hold fewer than ``limit`` entries and still have a ``next_after``."""

    items: list[LogEntry]
    next_after: int | None


@attrs.frozen
class LogFilter:
    aggregate_type: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None

    def topic_matches(self, topic: str) -> bool:
        qualname = topic.rpartition(":")[2]
        aggregate_type, _, event_type = qualname.rpartition(".")
        return (self.aggregate_type is None or aggregate_type == self.aggregate_type) and (
            self.event_type is None or event_type == self.event_type
        )

    def entry_matches(self, entry: views.HistoryEntry) -> bool:
        if self.since is not None and entry.timestamp < self.since:
            return False
        if self.until is not None and entry.timestamp >= self.until:
            return False
        return self.actor is None or (
            entry.actor is not None and entry.actor.subject_id == self.actor
        )


def _document(aggregate: Any) -> dict[str, Any]:
    return {key: views.plain(value) for key, value in vars(aggregate).items() if key not in _HEADER}


class AuditHistory:
    def __init__(self, workshop: Workshop) -> None:
        self.workshop = workshop

    def _events(self, aggregate_id: UUID) -> list[Any]:
        stored = self.workshop.recorder.select_events(aggregate_id)
        if not stored:
            raise NotFoundError("aggregate", aggregate_id)
        return [self.workshop.mapper.to_domain_event(s) for s in stored]

    @staticmethod
    def _fold(events: Iterable[Any]) -> Any:
        aggregate = None
        for event in events:
            aggregate = event.mutate(aggregate)
        return aggregate

    def state(
        self, aggregate_id: UUID, *, version: int | None = None, at: datetime | None = None
    ) -> AggregateState:
        """The aggregate as it was at ``version``, or as of the instant ``at`` (the last event
        recorded at or before it); the current state when neither is given."""
        if version is not None and at is not None:
            raise DomainValidationError("at", "give a version or a time, not both")
        events = self._events(aggregate_id)
        latest = events[-1].originator_version
        if version is not None:
            if not 1 <= version <= latest:
                raise DomainValidationError("version", f"must be between 1 and {latest}")
            events = [e for e in events if e.originator_version <= version]
        if at is not None:
            if at.tzinfo is None:
                raise DomainValidationError("at", "must include a UTC offset")
            events = [e for e in events if e.timestamp <= at]
            if not events:
                raise DomainValidationError("at", f"aggregate {aggregate_id} did not exist yet")
        return self._state(aggregate_id, events)

    def _state(self, aggregate_id: UUID, events: list[Any]) -> AggregateState:
        aggregate = self._fold(events)
        return AggregateState(
            aggregate_id=aggregate_id,
            aggregate_type=type(aggregate).__name__,
            version=aggregate.version,
            created_on=aggregate.created_on,
            modified_on=aggregate.modified_on,
            state=_document(aggregate),
        )

    def diff(self, aggregate_id: UUID, from_version: int, to_version: int) -> Diff:
        """What changed from one version to a later one, and the events that changed it."""
        events = self._events(aggregate_id)
        latest = events[-1].originator_version
        for field, value in (("from", from_version), ("to", to_version)):
            if not 1 <= value <= latest:
                raise DomainValidationError(field, f"must be between 1 and {latest}")
        if from_version > to_version:
            raise DomainValidationError("from", "must not be after `to`")
        before = self._state(
            aggregate_id, [e for e in events if e.originator_version <= from_version]
        )
        after = self._state(aggregate_id, [e for e in events if e.originator_version <= to_version])
        patch = jsonpatch.make_patch(before.state, after.state)
        changes = []
        for op in patch:
            old = None
            if op["op"] in {"replace", "remove"}:
                old = jsonpointer.resolve_pointer(before.state, op["path"], None)
            changes.append(Change(op=op["op"], path=op["path"], value=op.get("value"), old=old))
        between = [
            views.history_entry(e)
            for e in events
            if from_version < e.originator_version <= to_version
        ]
        return Diff(aggregate_id, after.aggregate_type, from_version, to_version, changes, between)

    def log(self, after: int, limit: int, where: LogFilter) -> LogPage:
        """The global log after notification ``after``: at most ``limit`` matching entries."""
        recorder = self.workshop.recorder
        to_domain_event = self.workshop.mapper.to_domain_event
        items: list[LogEntry] = []
        scanned = 0
        position = after
        while scanned < LOG_SCAN_LIMIT:
            notifications = recorder.select_notifications(
                position, min(1_000, LOG_SCAN_LIMIT - scanned), inclusive_of_start=False
            )
            if not notifications:
                return LogPage(items, None)
            for notification in notifications:
                scanned += 1
                position = notification.id
                if not where.topic_matches(notification.topic):
                    continue
                entry = views.history_entry(to_domain_event(notification))
                if not where.entry_matches(entry):
                    continue
                items.append(
                    LogEntry(notification_id=notification.id, **attrs.asdict(entry, recurse=False))
                )
                if len(items) == limit:
                    return LogPage(items, position)
        return LogPage(items, position)


__all__ = ["AggregateState", "AuditHistory", "Change", "Diff", "LogEntry", "LogFilter", "LogPage"]
