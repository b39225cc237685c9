"""Ports: what the application needs from the outside world, as ``typing.Protocol`` classes.

Adapters live in ``regenzet.adapters``; the composition root in ``regenzet.entrypoints`` wires
them. Every port has one contract test suite run against each of its adapters.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from regenzet.domain.vehicle import VinFacts


class Clock(Protocol):
    """The current time, timezone-aware UTC. Tests use a controllable clock instead of sleeping."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...


class VinDecoder(Protocol):
    """Validates a VIN (alphabet, length, check digit where the WMI region uses it) and decodes it.

    Raises ``DomainValidationError("vin", ...)`` for an invalid VIN.
    """

    def decode(self, vin: str) -> VinFacts: ...


# One stored event as read in bulk: (notification id, aggregate id, version, topic, state bytes).
# A plain tuple: followers and replay read hundreds of thousands of these.
LogRow = tuple[int, UUID, int, str, bytes]
# The same with the aggregate id as its 16 bytes: what the audit hash chain hashes, and
# cheaper to read in bulk than UUID objects.
ChainRow = tuple[int, bytes, int, str, bytes]


class EventLogReader(Protocol):
    """Reads the application's notification log in order, in batches (keyset pagination).

    The library's section API is capped at ``log_section_size`` and builds an object per
    row; bulk readers (replay, followers, audit) use this port instead.
    """

    def read(self, after: int, limit: int) -> list[LogRow]:
        """Rows with notification id > ``after``, ascending, at most ``limit``."""
        ...

    def read_chain(self, after: int, limit: int) -> list[ChainRow]:
        """Like ``read``, with aggregate ids as 16 bytes (for the audit hash chain)."""
        ...

    def max_notification_id(self) -> int:
        """The head of the log (0 when empty)."""
        ...

    def close(self) -> None: ...
