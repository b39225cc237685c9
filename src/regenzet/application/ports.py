"""Ports: what the application needs from the outside world, as ``typing.Protocol`` classes.

Adapters live in ``regenzet.adapters``; the composition root in ``regenzet.entrypoints`` wires
them. Every port has one contract test suite run against each of its adapters.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

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
