"""The aggregate registry and class-keyed dispatch (ADR 0032).

Followers once matched events by name strings; renaming an event class silently stopped
emails and integration events. Dispatch now names the classes, so a rename fails at import and
in mypy; these tests pin the rest: every class a handler is registered for is a real event
class of its aggregate, every published integration event has exactly one domain event behind
it, and the registry agrees with the domain's inventory and the stored topics.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import get_topic

import regenzet.domain
from regenzet.adapters.clock import ManualClock
from regenzet.application import integration_events
from regenzet.application.aggregates import AGGREGATES, aggregate_of, kind_name, kind_of
from regenzet.application.dispatch import EventHandlers
from regenzet.application.notification_policy import Links, NotificationPolicy
from regenzet.domain import catalog
from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection
from regenzet.domain.number_plate import NumberPlate
from regenzet.domain.repair_order import RepairOrder
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import Vehicle

EVENT_CLASSES = catalog.event_classes()


def _bare(cls: type[Any]) -> Any:
    """An instance of an event class without its fields: enough for isinstance and type()."""
    return object.__new__(cls)


def _owner(cls: type[Any]) -> type[Aggregate]:
    """The aggregate class an event class is declared in (read from the domain, not parsed)."""
    return next(a for a in catalog.AGGREGATES if vars(a).get(cls.__name__) is cls)


def _policy() -> NotificationPolicy:
    def no_link(order_id: UUID, customer_id: UUID, version: int) -> tuple[str, datetime]:
        raise AssertionError("not called")

    return NotificationPolicy(
        lambda aggregate_id, version: None,
        lambda aggregate_id: None,
        Links(quote=no_link, portal_url="https://garage.example/portal"),
        ManualClock(datetime(2026, 3, 2, tzinfo=UTC)),
    )


# -- the registry ------------------------------------------------------------------------------


def test_the_registry_holds_exactly_the_domains_aggregates() -> None:
    assert [k.cls for k in AGGREGATES] == catalog.AGGREGATES
    assert len({k.kind for k in AGGREGATES}) == len({k.public for k in AGGREGATES}) == 6


def test_kind_names_are_the_ones_errors_always_used() -> None:
    # Formerly workshop.KIND_NAMES: "repair order not found" and the like.
    assert {k.cls: k.kind for k in AGGREGATES} == {
        Customer: "customer",
        StaffMember: "staff member",
        Vehicle: "vehicle",
        NumberPlate: "number plate",
        RepairOrder: "repair order",
        Inspection: "inspection",
    }
    assert kind_name(RepairOrder) == "repair order"
    assert kind_of(Inspection).public == "inspection"


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__qualname__)
def test_every_event_is_found_to_be_from_the_aggregate_that_declares_it(cls: type[Any]) -> None:
    found = aggregate_of(_bare(cls))
    assert found is not None
    assert found.cls is _owner(cls)
    # The registry's name is the one in the stored topic (never changes: tests/golden).
    module, _, qualname = get_topic(cls).partition(":")
    assert qualname == f"{found.name}.{cls.__name__}"
    assert module == found.cls.__module__


def test_a_snapshot_or_a_foreign_event_is_from_no_aggregate() -> None:
    assert aggregate_of(_bare(Snapshot)) is None
    assert aggregate_of(_bare(Aggregate.Event)) is None
    assert aggregate_of(object()) is None


def test_every_event_is_declared_as_a_class_not_named_by_a_string() -> None:
    """``@event("QuoteSent")`` makes a class mypy cannot see; dispatch names the class, so
    every event is declared in its aggregate (ADR 0032)."""
    named = []
    for path in sorted(Path(regenzet.domain.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.append(f"{path.name}:{node.lineno} {node.args[0].value}")
    assert named == []


# -- the notification policy ---------------------------------------------------------------------


def test_the_policy_emails_on_real_event_classes_of_their_aggregates() -> None:
    handled = _policy().emails.classes()
    assert handled == (
        RepairOrder.QuoteSent,
        RepairOrder.Invoiced,
        Inspection.SharedWithCustomer,
    )
    for cls in handled:
        assert cls in EVENT_CLASSES, cls
        assert _policy().emails.handler(_bare(cls)) is not None


def test_the_policy_has_no_email_for_any_other_event() -> None:
    policy = _policy()
    others = [c for c in EVENT_CLASSES if c not in policy.emails.classes()]
    assert others
    assert all(policy.emails.handler(_bare(c)) is None for c in others)


# -- integration events --------------------------------------------------------------------------


def test_every_integration_mapping_maps_a_real_event_class() -> None:
    published = integration_events.published_types()
    for cls, event_type in published.items():
        assert cls in EVENT_CLASSES, cls
        found = aggregate_of(_bare(cls))
        assert found is not None
        # The public aggregate type is the registry's, and the event type's prefix.
        assert event_type.partition(".")[0] == found.public


def test_every_published_event_type_has_exactly_one_domain_event() -> None:
    published = integration_events.published_types()
    catalogue = {t: aggregate_type for t, aggregate_type, _, _ in integration_events.CATALOGUE}
    assert sorted(published.values()) == sorted(catalogue)
    for cls, event_type in published.items():
        assert catalogue[event_type] == kind_of(_owner(cls)).public


def test_the_published_domain_events_are_the_ones_always_published() -> None:
    """The mapping by name it replaced, spelled as classes: a change here changes SNS."""
    assert {c.__qualname__: t for c, t in integration_events.published_types().items()} == {
        "RepairOrder.Opened": "repair_order.opened.v1",
        "RepairOrder.QuoteSent": "repair_order.quote_sent.v1",
        "RepairOrder.JobApproved": "repair_order.job_approved.v1",
        "RepairOrder.JobDeclined": "repair_order.job_declined.v1",
        "RepairOrder.HighVoltageIsolated": "repair_order.hv_isolated.v1",
        "RepairOrder.HighVoltageRestored": "repair_order.hv_restored.v1",
        "RepairOrder.JobCompleted": "repair_order.job_completed.v1",
        "RepairOrder.Invoiced": "repair_order.invoiced.v1",
        "RepairOrder.PaymentRecorded": "repair_order.payment_recorded.v1",
        "RepairOrder.Released": "repair_order.released.v1",
        "RepairOrder.Cancelled": "repair_order.cancelled.v1",
        "Inspection.Completed": "inspection.completed.v1",
        "Inspection.SharedWithCustomer": "inspection.shared.v1",
        "Vehicle.Registered": "vehicle.registered.v1",
        "Vehicle.BatteryHealthRecorded": "vehicle.battery_health_recorded.v1",
    }


# -- EventHandlers -------------------------------------------------------------------------------


def test_handlers_are_found_by_the_events_class() -> None:
    handlers: EventHandlers[str] = EventHandlers()
    handlers.on(RepairOrder.QuoteSent, lambda e, o: f"quote {e.quote_version}")
    handlers.on(Vehicle.Registered, lambda e, v: "registered")
    assert handlers.classes() == (RepairOrder.QuoteSent, Vehicle.Registered)
    assert handlers.handler(_bare(RepairOrder.Invoiced)) is None
    assert handlers.handler(object()) is None
    found = handlers.handler(_bare(Vehicle.Registered))
    assert found is not None
    assert found(None, None) == "registered"


def test_a_second_handler_for_one_class_is_refused() -> None:
    handlers: EventHandlers[str] = EventHandlers()
    handlers.on(RepairOrder.QuoteSent, lambda e, o: "one")
    with pytest.raises(ValueError, match=r"RepairOrder\.QuoteSent already has a handler"):
        handlers.on(RepairOrder.QuoteSent, lambda e, o: "two")
