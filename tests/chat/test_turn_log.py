"""The turn log on every read-model store: author-only listing, paging, retention purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from regenzet.adapters.clock import ManualClock
from regenzet.application.chat import ChatTurnLog
from regenzet.application.identity import Principal
from regenzet.application.projections import ReadModelStore
from regenzet.domain.common import Role

from ..integration.test_read_model_store_contract import store  # noqa: F401  (the fixture)

ALICE = Principal(subject="alice", role=Role.ADVISOR, staff_id=UUID(int=1))
BOB = Principal(subject="bob", role=Role.AUDITOR)


def turn(n: int, subject: str, at: datetime) -> dict[str, object]:
    return {"id": f"t{n:03d}", "at": at.isoformat(), "subject": subject, "question": f"q{n}"}


def test_turns_are_listed_for_their_author_oldest_first_and_purged_after_retention(
    store: ReadModelStore,  # noqa: F811
) -> None:
    clock = ManualClock(datetime(2026, 1, 1, 8, 0, tzinfo=UTC))
    log = ChatTurnLog(store, clock, timedelta(days=30))
    start = clock.now()
    for n in range(25):
        log.record(turn(n, "alice" if n % 5 else "bob", start + timedelta(days=n)))

    first, cursor = log.list_own(ALICE, limit=10)
    assert [t["id"] for t in first] == [f"t{n:03d}" for n in range(25) if n % 5][:10]
    rest, end = log.list_own(ALICE, after=cursor, limit=10)
    assert len(rest) == 10
    assert end is None or log.list_own(ALICE, after=end, limit=10)[0] == []
    assert {t["subject"] for t in first + rest} == {"alice"}
    assert [t["id"] for t in log.list_own(BOB, limit=50)[0]] == [
        "t000",
        "t005",
        "t010",
        "t015",
        "t020",
    ]

    clock.advance(timedelta(days=40))  # day 40: turns of days 0..9 are older than 30 days
    assert log.purge_expired() == 10
    assert log.purge_expired() == 0
    remaining = log.list_own(ALICE, limit=50)[0] + log.list_own(BOB, limit=50)[0]
    assert sorted(t["id"] for t in remaining) == [f"t{n:03d}" for n in range(10, 25)]
