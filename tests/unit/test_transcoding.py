"""Every event type survives the store's encoding exactly: same types, same values."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.workshop import Workshop
from regenzet.domain import catalog
from regenzet.domain.common import Actor, DomainError, Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.media import Shape

_HEADER = {"originator_id", "originator_version", "timestamp", "originator_topic"}

_decimals = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    allow_nan=False,
    allow_infinity=False,
    places=3,
)
_json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
_SPECIAL: dict[Any, st.SearchStrategy[Any]] = {
    UUID: st.uuids(),
    int: st.integers(-(2**31), 2**31),
    str: st.text(max_size=12),
    bool: st.booleans(),
    Decimal: _decimals,
    datetime: st.datetimes(timezones=st.just(UTC)),
    date: st.dates(),
    Any: _json_scalars | _decimals | st.datetimes(timezones=st.just(UTC)),
    Actor: st.builds(
        Actor, subject_id=st.text(min_size=1, max_size=20), role=st.sampled_from(Role)
    ),
    float: st.floats(0, 1, allow_nan=False),
    # A markup's shape (issue 13): a JSON-native TypedDict, exactly as the domain checks it.
    Shape: st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["arrow", "ellipse", "freehand", "text"]),
            "points": st.lists(st.lists(st.floats(0, 1), min_size=2, max_size=2), max_size=3),
            "colour": st.just("#ff3b30"),
            "label": st.none() | st.text(max_size=8),
        }
    ),
    NotificationPreferences: st.builds(
        NotificationPreferences,
        email=st.booleans(),
        sms=st.booleans(),
        quiet_hours_start=st.sampled_from(["21:00", "22:30"]),
        quiet_hours_end=st.sampled_from(["07:00", "08:15"]),
    ),
}


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    if tp in _SPECIAL:
        return _SPECIAL[tp]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(a) for a in typing.get_args(tp)))
    if tp is type(None):
        return st.none()
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return st.lists(strategy_for(item), max_size=3)
    if origin is dict:
        _, value = typing.get_args(tp) or (str, Any)
        return st.dictionaries(st.text(max_size=6), strategy_for(value), max_size=3)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(tp)
    if isinstance(tp, type) and attrs.has(tp):
        hints = typing.get_type_hints(tp, vars(sys.modules[tp.__module__]))
        fields = {f.name: strategy_for(hints[f.name]) for f in attrs.fields(tp) if f.init}

        @st.composite
        def valid(draw: st.DrawFn) -> Any:
            kwargs = {name: draw(s) for name, s in fields.items()}
            try:
                return tp(**kwargs)
            except (DomainError, ValueError, TypeError):
                # Value objects validate themselves; draw within their rules instead.
                from hypothesis import reject

                reject()

        return valid()
    raise AssertionError(f"no strategy for {tp!r}: add a transcoding and a strategy")


def own_hints(cls: type) -> dict[str, Any]:
    """The event's own fields (the library's header fields are drawn separately)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # the library may subclass an explicit event class
        if not klass.__module__.startswith("regenzet."):
            continue
        namespace = vars(sys.modules[klass.__module__])
        for name, tp in inspect.get_annotations(klass).items():
            hints[name] = eval(tp, namespace) if isinstance(tp, str) else tp  # noqa: S307
    return hints


def event_strategy(cls: type) -> st.SearchStrategy[Any]:
    hints = own_hints(cls)
    fields = {
        name: strategy_for(tp)
        for name, tp in hints.items()
        if name not in _HEADER and not name.startswith("_") and name != "class_version"
    }
    return st.builds(
        cls,
        originator_id=st.uuids(),
        originator_version=st.integers(1, 10**6),
        timestamp=st.datetimes(timezones=st.just(UTC)),
        **(
            {"originator_topic": st.just("regenzet.domain.x:Y")}
            if "originator_topic" in {f.name for f in dataclasses.fields(cls)}
            else {}
        ),
        **fields,
    )


@pytest.fixture(scope="module")
def mapper() -> Any:
    app = Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        vin_decoder=VininfoVinDecoder(),
    )
    return app.mapper


EVENT_CLASSES = catalog.event_classes()


def test_the_catalog_knows_every_aggregates_events() -> None:
    names = {f"{c.__qualname__}" for c in EVENT_CLASSES}
    assert {
        "RepairOrder.Opened",
        "RepairOrder.JobApproved",
        "RepairOrder.Invoiced",
        "Inspection.MeasurementRecorded",
        "Vehicle.BatteryHealthRecorded",
        "Customer.Registered",
        "StaffMember.HvQualificationRecorded",
    } <= names
    # Adding an event type? Update this count deliberately and add its golden fixture.
    assert len(EVENT_CLASSES) == 48


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_event_round_trips_through_the_transcoder(event_class: type, mapper: Any) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(event_strategy(event_class))
    def round_trip(original: Any) -> None:
        stored = mapper.to_stored_event(original)
        decoded = mapper.to_domain_event(stored)
        assert type(decoded) is type(original)
        assert vars(decoded) == vars(original)
        for name, value in vars(original).items():
            assert type(vars(decoded)[name]) is type(value), name

    round_trip()
