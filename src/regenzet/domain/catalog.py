"""The domain's inventory: aggregate classes and the value types and enums their events carry.

The application registers a transcoding for each value type and enum listed here; the
round-trip tests walk the same lists, so a type added to an event but not listed here fails.
"""

from __future__ import annotations

from enum import Enum

from eventsourcing.domain import Aggregate

from regenzet.domain import (
    common,
    customer,
    inspection,
    media,
    number_plate,
    repair_order,
    staff,
    vehicle,
)

AGGREGATES: list[type[Aggregate]] = [
    customer.Customer,
    staff.StaffMember,
    vehicle.Vehicle,
    number_plate.NumberPlate,
    repair_order.RepairOrder,
    inspection.Inspection,
]

VALUE_TYPES: list[type] = [
    common.Actor,
    *customer.VALUE_TYPES,
    *staff.VALUE_TYPES,
    *vehicle.VALUE_TYPES,
    *repair_order.VALUE_TYPES,
    *inspection.VALUE_TYPES,
    *media.VALUE_TYPES,
]

ENUMS: list[type[Enum]] = [
    common.Role,
    *vehicle.ENUMS,
    *repair_order.ENUMS,
    *inspection.ENUMS,
]


def event_classes() -> list[type[Aggregate.Event]]:
    """Every event class of every aggregate (the created events included)."""
    found: list[type[Aggregate.Event]] = []
    for aggregate_class in AGGREGATES:
        for value in vars(aggregate_class).values():
            is_event = isinstance(value, type) and issubclass(value, Aggregate.Event)
            # Skip the library's per-class bases (Event, Created): they are never stored.
            if is_event and value.__name__ not in {"Event", "Created"}:
                found.append(value)
    return found
