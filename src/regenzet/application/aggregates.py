"""The one registry of aggregates: each aggregate class with the names the application gives it.

Everything that asks "which aggregate is this event from?" or "what is this aggregate called?"
asks here (ADR 0032), by class, never by parsing ``__qualname__``:

- ``kind``: how errors and messages name it ("repair order not found");
- ``public``: its name in public contracts (integration events' ``aggregate_type``,
  ``repair_order.quote_sent.v1``);
- ``name``: its class name, which the history API reports as ``aggregate_type`` and which is
  part of every stored topic (``regenzet.domain.repair_order:RepairOrder.QuoteSent``), so it
  never changes.

``tests/unit/test_aggregate_registry.py`` checks this list against the domain's inventory
(``regenzet.domain.catalog.AGGREGATES``).
"""

from __future__ import annotations

from typing import Any

import attrs
from eventsourcing.domain import Aggregate

from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection
from regenzet.domain.number_plate import NumberPlate
from regenzet.domain.repair_order import RepairOrder
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import Vehicle


@attrs.frozen
class AggregateKind:
    cls: type[Aggregate]
    kind: str
    public: str

    @property
    def name(self) -> str:
        return self.cls.__name__

    def owns(self, event: object) -> bool:
        """Whether ``event`` is one of this aggregate's events (each aggregate class has its
        own ``Event`` base, which every one of its event classes derives from)."""
        return isinstance(event, self.cls.Event)


AGGREGATES: tuple[AggregateKind, ...] = (
    AggregateKind(Customer, "customer", "customer"),
    AggregateKind(StaffMember, "staff member", "staff_member"),
    AggregateKind(Vehicle, "vehicle", "vehicle"),
    AggregateKind(NumberPlate, "number plate", "number_plate"),
    AggregateKind(RepairOrder, "repair order", "repair_order"),
    AggregateKind(Inspection, "inspection", "inspection"),
)

_BY_CLASS: dict[type[Aggregate], AggregateKind] = {k.cls: k for k in AGGREGATES}
# Filled as event classes are met: a dict hit per event instead of six isinstance checks.
_BY_EVENT_CLASS: dict[type[Any], AggregateKind | None] = {}


def kind_of(cls: type[Aggregate]) -> AggregateKind:
    """The registry entry of an aggregate class (KeyError for a class not registered)."""
    return _BY_CLASS[cls]


def kind_name(cls: type[Aggregate]) -> str:
    """How messages name an aggregate class: ``"repair order"``."""
    return _BY_CLASS[cls].kind


def aggregate_of(event: object) -> AggregateKind | None:
    """The aggregate an event belongs to, or None (a snapshot, another library's event)."""
    cls = type(event)
    try:
        return _BY_EVENT_CLASS[cls]
    except KeyError:
        pass
    found = next((k for k in AGGREGATES if k.owns(event)), None)
    _BY_EVENT_CLASS[cls] = found
    return found


__all__ = ["AGGREGATES", "AggregateKind", "aggregate_of", "kind_name", "kind_of"]
