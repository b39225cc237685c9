"""Upcasting through the typed mapper: renamed keys and changed value types reach the upcaster
as stored, and a stored event missing a required field is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.workshop import Workshop


class Meter(Aggregate):
    """A test aggregate whose event went from ``{"mileage": "123"}`` (v1) to ``{"km": 123}``."""

    class Read(Aggregate.Event):
        class_version = 2
        km: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["km"] = int(state.pop("mileage"))

    @event("Installed")
    def __init__(self) -> None:
        self.km = 0

    @event(Read)
    def read(self, km: int) -> None:
        self.km = km


@pytest.fixture(scope="module")
def mapper() -> Any:
    app = Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        vin_decoder=VininfoVinDecoder(),
    )
    return app.mapper


def test_upcaster_sees_the_stored_shape_and_can_rename_and_retype(mapper: Any) -> None:
    old = msgspec.json.encode({"timestamp": "2026-01-02T03:04:05+00:00", "mileage": "123"})
    decoded = mapper.to_domain_event(StoredEvent(uuid4(), 2, get_topic(Meter.Read), old))
    assert decoded.km == 123
    assert isinstance(decoded.timestamp, datetime)


def test_current_version_round_trips(mapper: Any) -> None:
    meter = Meter()
    meter.read(km=456)
    for e in meter.collect_events():
        again = mapper.to_domain_event(mapper.to_stored_event(e))
        assert vars(again) == vars(e)


def test_event_missing_a_required_field_is_refused_by_name(mapper: Any) -> None:
    topic = "regenzet.domain.customer:Customer.ContactChanged"
    state = msgspec.json.encode({"timestamp": "2026-01-02T03:04:05+00:00", "phone": None})
    with pytest.raises(MapperDeserialisationError, match="actor, email"):
        mapper.to_domain_event(StoredEvent(uuid4(), 2, topic, state))
