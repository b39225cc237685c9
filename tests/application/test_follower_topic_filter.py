"""A follower whose read model names the aggregates it ``cares`` about decodes only those
aggregates' events (issue 12: the directory read models decoded every repair-order event of a
fleet only to ignore it), yet its position still moves past every event it skipped, and what
it builds is what the same read model builds when it is given every event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.event_log import RecorderEventLogReader
from regenzet.adapters.read_models import InMemoryReadModelStore
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.ports import LogRow
from regenzet.application.projections import Follower, Query, TableSpec, topic_filter
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import Customer
from regenzet.domain.staff import StaffMember

ADVISOR = Actor("a", Role.ADVISOR)
MANAGER = Actor("m", Role.MANAGER)


@attrs.define
class Seen:
    """Records the type of every event it is given, under its own name."""

    name: str
    cares: tuple[type[Any], ...] | None
    version: int = 1
    tables: tuple[TableSpec, ...] = (TableSpec("seen"),)

    def apply(self, event: Any, tx: Any) -> None:
        if self.cares is None or isinstance(event, tuple(c.Event for c in self.cares)):
            key = f"{self.name}:{event.originator_id}:{event.originator_version}"
            tx.put("seen", key, {"type": type(event).__qualname__})


def _workshop() -> Workshop:
    return Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        vin_decoder=VininfoVinDecoder(),
    )


def test_only_the_cared_for_aggregates_events_are_decoded() -> None:
    workshop = _workshop()
    for n in range(3):
        workshop.register_customer(
            name=f"Customer {n}", email=f"c{n}@example.com", phone=None, actor=ADVISOR
        )
    workshop.hire_staff_member(
        name="Noor", email="n@example.com", role=Role.TECHNICIAN, actor=MANAGER
    )
    workshop.register_customer(name="Last", email="last@example.com", phone=None, actor=ADVISOR)
    reader = RecorderEventLogReader(workshop.recorder)
    head = reader.max_notification_id()
    assert head is not None

    decoded: list[str] = []

    def counting(rows: Sequence[LogRow]) -> list[Any]:
        events = workshop.decode_rows(rows)
        decoded.extend(type(e).__qualname__ for e in events)
        return events

    store = InMemoryReadModelStore()
    staff = Follower(Seen("staff", (StaffMember,)), store, reader, counting, batch=2)
    staff.check_schema()
    assert staff.catch_up() == head  # every row counted as applied, skipped or not
    assert staff.position() == head
    assert decoded == ["StaffMember.Hired"]

    decoded.clear()
    everything = Follower(Seen("all", None), store, reader, counting, batch=2)
    everything.check_schema()
    everything.catch_up()
    assert len(decoded) == head  # a read model without ``cares`` sees every event
    assert any(name.startswith("Customer.") for name in decoded)


def test_skipping_changes_nothing_a_read_model_builds() -> None:
    workshop = _workshop()
    workshop.register_customer(name="Femke", email="f@example.com", phone=None, actor=ADVISOR)
    workshop.hire_staff_member(
        name="Daan", email="d@example.com", role=Role.TECHNICIAN, actor=MANAGER
    )
    workshop.register_customer(name="Joost", email="j@example.com", phone=None, actor=ADVISOR)
    reader = RecorderEventLogReader(workshop.recorder)

    # The same read model twice: once naming what it cares about (its follower skips the
    # rest before decoding), once filtering inside ``apply`` only (given every event).
    filtered, unfiltered = InMemoryReadModelStore(), InMemoryReadModelStore()
    for projection, store in (
        (Seen("x", (Customer,)), filtered),
        (SelfFiltering("x", None), unfiltered),
    ):
        follower = Follower(projection, store, reader, workshop.decode_rows)
        follower.check_schema()
        follower.catch_up()
    rows = _rows(filtered)
    assert len(rows) == 2
    assert rows == _rows(unfiltered)
    assert filtered.status("x")[0] == unfiltered.status("x")[0] == reader.max_notification_id()


@attrs.define
class SelfFiltering(Seen):
    """Keeps customers' events only, deciding in ``apply``; names no ``cares`` of its own."""

    def apply(self, event: Any, tx: Any) -> None:
        if isinstance(event, Customer.Event):
            key = f"{self.name}:{event.originator_id}:{event.originator_version}"
            tx.put("seen", key, {"type": type(event).__qualname__})


def _rows(store: InMemoryReadModelStore) -> list[Any]:
    return store.query(Query("seen", limit=100)).items


def test_an_unknown_topic_is_left_to_the_decoder() -> None:
    wants = topic_filter(Seen("x", (Customer,)))
    assert wants is not None
    assert wants("regenzet.domain.customer:Customer.Registered")
    assert not wants("regenzet.domain.staff:StaffMember.Hired")
    assert wants("no.such.module:Nothing")  # decoded, so the decoder raises as it always has
    assert topic_filter(Seen("y", None)) is None
