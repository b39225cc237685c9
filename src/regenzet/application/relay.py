"""The outbox relay: a follower that publishes integration events (DESIGN §3).

It reads the log from its recorded position, maps each batch to integration messages,
publishes them, and only then records the new position: at-least-once. A crash between the
publish and the position commit re-publishes the same messages with the same event ids, which
SNS FIFO deduplicates (for five minutes) and consumers deduplicate by ``event_id``.
Nothing is published inline with a command, so a backlog or an SNS outage never blocks one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol

from regenzet.application.integration_events import IntegrationEventMapper, IntegrationMessage
from regenzet.application.ports import EventLogReader, LogRow
from regenzet.application.projections import ReadModelStore

logger = logging.getLogger(__name__)

RELAY_NAME = "integration_relay"


class PublishError(Exception):
    """Publishing failed after the adapter's retries; nothing after it counts as published."""


class Publisher(Protocol):
    """Publishes integration messages in order. Returns only when every message was accepted
    (raises :class:`PublishError` otherwise). Delivery is at-least-once: the same
    ``event_id`` may be published again after a crash."""

    def publish(self, messages: Sequence[IntegrationMessage]) -> None: ...


class Relay:
    """Shaped like the other followers (``name``, ``check_schema``, ``position``, ``step``),
    so the same runner can keep it going; ``regenzet relay run`` runs it on its own."""

    name = RELAY_NAME

    def __init__(
        self,
        positions: ReadModelStore,
        reader: EventLogReader,
        decode: Callable[[Sequence[LogRow]], list[DomainEventProtocol[Any]]],
        mapper: IntegrationEventMapper,
        publisher: Publisher,
        *,
        batch: int = 200,
    ) -> None:
        self.positions = positions
        self.reader = reader
        self.decode = decode
        self.mapper = mapper
        self.publisher = publisher
        self.batch = batch
        self.published = 0

    def check_schema(self) -> None:
        pass  # only a position row, created on first commit

    def position(self) -> int:
        return self.positions.status(self.name)[0]

    def step(self) -> int:
        """Publishes at most one batch; returns how many log events it covered (0: caught up)."""
        start = self.position()
        rows = self.reader.read(start, self.batch)
        if not rows:
            return 0
        try:
            messages = [m for e in self.decode(rows) if (m := self.mapper.map(e)) is not None]
            if messages:
                self.publisher.publish(messages)
        except BaseException:
            self.mapper.forget()  # its fold may be ahead of the position; refold from the store
            raise
        with self.positions.transaction(self.name) as tx:
            if tx.position() != start:
                # Another relay published the same batch meanwhile (harmless: same ids).
                logger.info("%s: another runner advanced the position", self.name)
                return 0
            tx.set_position(rows[-1][0])
        self.published += len(messages)
        return len(rows)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        total = 0
        while covered := self.step():
            total += covered
            if progress is not None:
                progress(covered)
        return total


__all__ = ["RELAY_NAME", "PublishError", "Publisher", "Relay"]
