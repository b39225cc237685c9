"""Clock adapters: the wall clock for production, a manual clock for tests and demo seeding."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class ManualClock:
    """A clock that only moves when told to: deterministic hours in tests and in demo data."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            msg = "ManualClock needs a timezone-aware start"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def today(self) -> date:
        return self.now().date()

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            msg = "time does not run backwards"
            raise ValueError(msg)
        with self._lock:
            self._now += delta
            return self._now
