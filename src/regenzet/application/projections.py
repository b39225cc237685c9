"""Followers of the one ordered log, and the read models they keep (DESIGN §3, ADR 0009).

A :class:`Projection` is pure logic: it turns domain events into changes of JSON documents in
its own tables, reading the current documents through the transaction it is given. A
:class:`Follower` reads the notification log from the projection's recorded position **in
batches** and applies each batch and the new position in **one transaction** of the
:class:`ReadModelStore`, so every event is applied exactly once, whatever crashes when.

Storage (SQLite, Postgres, memory) is an adapter's business; how a follower is woken (polling,
LISTEN/NOTIFY) is the runner's (``regenzet.entrypoints.followers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import attrs
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import resolve_topic

from regenzet.application.ports import EventLogReader, LogRow

logger = logging.getLogger(__name__)

Doc = dict[str, Any]  # a JSON-native document: str, int, float, bool, None, list, dict

DEFAULT_BATCH = 500


@attrs.frozen
class TableSpec:
    """A read-model table of documents keyed by a string.

    ``indexes`` are top-level scalar fields stored as their own (indexed) columns, so they can be
    filtered, searched and sorted on; ``lists`` are top-level fields holding lists of strings
    that can be filtered by membership (for example the technicians on an order).
    ``prefixes`` names the indexed or list fields searched by prefix (:attr:`Query.prefixes`):
    their index compares code points (``COLLATE "C"`` on Postgres), so a prefix is a range scan
    whatever the database's locale.
    """

    name: str
    indexes: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


class ReadModelTx(Protocol):
    """The projection's view of its tables inside one transaction."""

    def get(self, table: str, key: str) -> Doc | None: ...

    def put(self, table: str, key: str, doc: Doc) -> None: ...

    def delete(self, table: str, key: str) -> None: ...


class Projection(Protocol):
    """A read model: its tables and how each event changes them.

    ``version`` is the read model's schema version: when it differs from the stored one the
    follower refuses to run until ``rebuild`` has replayed the log into the new shape.
    """

    name: str
    version: int
    tables: tuple[TableSpec, ...]

    def apply(self, event: DomainEventProtocol[Any], tx: ReadModelTx) -> None: ...


def topic_filter(projection: object) -> Callable[[str], bool] | None:
    """Whether the follower of ``projection`` must decode an event with a given stored
    topic, or None when it must decode every event.

    A projection that names the aggregate classes it ``cares`` about (the folding read models
    do) ignores every other aggregate's events; its follower then skips them before decoding,
    by topic, so an event no read model of that follower wants costs a string look-up instead
    of a decode (issue 12: the directory read models ignored 420 of 420 events of a fleet's
    repair orders and spent most of their time decoding them). A topic that does not resolve
    is decoded, so the decoder reports it as before."""
    cares = getattr(projection, "cares", None)
    if not cares:
        return None
    bases = tuple(cls.Event for cls in cares)
    wanted: dict[str, bool] = {}

    def wants(topic: str) -> bool:
        try:
            return wanted[topic]
        except KeyError:
            pass
        try:
            found = resolve_topic(topic)
        except Exception:  # an unknown topic: let the decoder fail the way it always has
            return True
        wanted[topic] = isinstance(found, type) and issubclass(found, bases)
        return wanted[topic]

    return wants


@attrs.frozen
class Page:
    items: list[Doc]
    next_cursor: str | None


@attrs.frozen
class Query:
    """A read of one table: equality filters on indexed fields, list membership, a
    case-insensitive substring search over some indexed fields, a range on one indexed field,
    and keyset pagination ordered by ``order_by`` then key.

    ``prefixes`` is a prefix search that uses an index: a row matches when *any* of the
    ``(field, prefix)`` pairs does (the stored value, or for a list field one of its members,
    starts with the prefix, compared exactly: callers normalise, e.g. lower-case, first).
    ``ranges`` are further inclusive ranges, all of which must hold. ``descending`` reverses
    the order (newest first), cursors included.
    """

    table: str
    equals: Mapping[str, Any] = attrs.field(factory=dict)
    contains: Mapping[str, str] = attrs.field(factory=dict)
    search: tuple[tuple[str, ...], str] | None = None
    between: tuple[str, Any, Any] | None = None
    order_by: str | None = None
    after: str | None = None
    limit: int = 50
    prefixes: tuple[tuple[str, str], ...] = ()
    ranges: tuple[tuple[str, Any, Any], ...] = ()
    descending: bool = False


class ReadModelStore(Protocol):
    """Durable read-model tables and follower positions (an adapter per database kind)."""

    def prepare(self, projection: Projection) -> None:
        """Creates the projection's tables if missing (idempotent)."""
        ...

    def status(self, name: str) -> tuple[int, int | None]:
        """(position, schema version recorded at the last rebuild; None if never built)."""
        ...

    def transaction(self, name: str) -> AbstractContextManager[StoreTx]: ...

    def reset(self, projection: Projection) -> None:
        """Drops the projection's tables and position, then recreates the tables empty and
        records the projection's current version (the start of a rebuild)."""
        ...

    def get(self, table: str, key: str) -> Doc | None: ...

    def query(self, query: Query) -> Page: ...

    def close(self) -> None: ...


class StoreTx(ReadModelTx, Protocol):
    """A transaction that also moves the follower's position (committed together)."""

    def position(self) -> int: ...

    def set_position(self, position: int) -> None: ...


class SchemaOutdatedError(Exception):
    """The stored read model has another schema version: rebuild it."""

    def __init__(self, name: str, stored: int | None, wanted: int) -> None:
        super().__init__(
            f"read model {name} is at schema version {stored}, the code needs {wanted}: "
            f"run `regenzet projections rebuild {name}`"
        )


class Follower:
    """Applies the log to one projection, a batch per transaction, from its stored position."""

    def __init__(
        self,
        projection: Projection,
        store: ReadModelStore,
        reader: EventLogReader,
        decode: Callable[[Sequence[LogRow]], list[DomainEventProtocol[Any]]],
        *,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.projection = projection
        self.store = store
        self.reader = reader
        self.decode = decode
        self.batch = batch
        self._wants = topic_filter(projection)

    @property
    def name(self) -> str:
        return self.projection.name

    def check_schema(self) -> None:
        self.store.prepare(self.projection)
        _, version = self.store.status(self.name)
        if version is None:
            # A read model that never existed starts empty at the current version.
            self.store.reset(self.projection)
        elif version != self.projection.version:
            raise SchemaOutdatedError(self.name, version, self.projection.version)

    def position(self) -> int:
        return self.store.status(self.name)[0]

    def step(self) -> int:
        """Applies at most one batch; returns how many events it applied (0: caught up).

        Rows are read and decoded before the transaction opens, so it stays short; inside it
        the position is checked again, and if another runner moved it meanwhile (two processes
        following the same read model) nothing is applied: no event is ever applied twice.
        """
        start = self.position()
        rows = self.reader.read(start, self.batch)
        if not rows:
            return 0
        wants = self._wants
        events = self.decode(rows if wants is None else [r for r in rows if wants(r[3])])
        try:
            with self.store.transaction(self.name) as tx:
                if tx.position() != start:
                    logger.info("%s: another runner advanced the position; skipping", self.name)
                    return 0
                for event in events:
                    self.projection.apply(event, tx)
                tx.set_position(rows[-1][0])
        except BaseException:
            # Caches inside the projection may be ahead of the rolled-back transaction.
            forget = getattr(self.projection, "forget", None)
            if callable(forget):
                forget()
            raise
        return len(rows)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Applies batches until the head of the log; returns how many events."""
        total = 0
        while applied := self.step():
            total += applied
            if progress is not None:
                progress(applied)
        return total

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Empties the read model and replays the whole log into it."""
        self.store.reset(self.projection)
        return self.catch_up(progress)


def wait_for_position(
    positions: Callable[[], int],
    minimum: int,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Read-your-writes: waits (bounded) until a read model has applied ``minimum``."""
    deadline = clock() + timeout
    delay = 0.002
    while positions() < minimum:
        if clock() >= deadline:
            return False
        sleep(delay)
        delay = min(delay * 2, 0.05)
    return True


__all__ = [
    "DEFAULT_BATCH",
    "Doc",
    "Follower",
    "Page",
    "Projection",
    "Query",
    "ReadModelStore",
    "ReadModelTx",
    "SchemaOutdatedError",
    "StoreTx",
    "TableSpec",
    "topic_filter",
    "wait_for_position",
]
