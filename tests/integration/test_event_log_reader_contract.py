"""One contract for every EventLogReader adapter: what followers and replay rely on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.ports import EventLogReader
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import event_log_reader

from ..conftest import START, postgres_store_env

ADVISOR = Actor("advisor", Role.ADVISOR)


class EventLogReaderContract:
    """Subclasses provide ``workshop`` and ``reader`` on the same store."""

    @pytest.fixture
    def filled(self, workshop: Workshop) -> list[UUID]:
        ids = []
        for i in range(25):
            receipt = workshop.register_customer(
                name=f"C {i}", email=f"c{i}@example.com", phone=None, actor=ADVISOR
            )
            workshop.change_customer_contact(
                receipt.id, email=f"c{i}@example.org", phone=None, actor=ADVISOR
            )
            ids.append(receipt.id)
        return ids

    def test_an_empty_log_reads_nothing(self, reader: EventLogReader) -> None:
        assert reader.read(0, 100) == []
        assert reader.max_notification_id() == 0

    def test_reads_everything_in_order_in_batches(
        self, workshop: Workshop, reader: EventLogReader, filled: list[UUID]
    ) -> None:
        rows, last = [], 0
        while batch := reader.read(last, 7):
            assert len(batch) <= 7
            rows += batch
            last = batch[-1][0]
        ids = [r[0] for r in rows]
        assert ids == sorted(ids)
        assert len(ids) == len(set(ids)) == 50
        assert reader.max_notification_id() == ids[-1]
        _first_id, originator, version, topic, state = rows[0]
        assert (originator, version) == (filled[0], 1)
        assert topic.endswith("Customer.Registered")
        assert isinstance(state, bytes)
        events = workshop.decode_rows(rows)
        assert [e.originator_version for e in events[:2]] == [1, 2]

    def test_after_is_exclusive_and_past_the_head_is_empty(
        self, reader: EventLogReader, filled: list[UUID]
    ) -> None:
        head = reader.max_notification_id()
        [row] = reader.read(head - 1, 10)
        assert row[0] == head
        assert reader.read(head, 10) == []


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


class TestSqliteEventLogReader(EventLogReaderContract):
    @pytest.fixture
    def env(self, tmp_path: Path) -> dict[str, str]:
        return sqlite_env(tmp_path / "log.db")

    @pytest.fixture
    def workshop(self, env: dict[str, str], clock: ManualClock) -> Iterator[Workshop]:
        app = Workshop(env=env, clock=clock, vin_decoder=VininfoVinDecoder())
        yield app
        app.close()

    @pytest.fixture
    def reader(self, env: dict[str, str], workshop: Workshop) -> Iterator[EventLogReader]:
        r = event_log_reader(env, workshop)
        yield r
        r.close()


@pytest.mark.postgres
class TestPostgresEventLogReader(TestSqliteEventLogReader):
    @pytest.fixture
    def env(self, postgres_dsn: str, postgres_schema: str) -> dict[str, str]:  # type: ignore[override]
        return postgres_store_env(postgres_dsn, postgres_schema)


class TestRecorderEventLogReader(TestSqliteEventLogReader):
    @pytest.fixture
    def env(self) -> dict[str, str]:  # type: ignore[override]
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
