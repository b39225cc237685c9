"""The read models: workshop board, vehicle profile, customer portal.

Each projection *folds* the events into the aggregate they belong to (the library's own
``event.mutate``, from an LRU cache, or from the repository at the previous version after a
restart) and renders documents from the same read DTOs the queries use. So a read model can
never disagree with the aggregates about a rule: there is no second copy of the domain logic
here, only denormalisation (names, plates) and indexing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol

from regenzet.application import views
from regenzet.application.projections import Doc, ReadModelTx, TableSpec
from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection
from regenzet.domain.repair_order import JobStatus, RepairOrder, RepairOrderStatus
from regenzet.domain.vehicle import Vehicle

Load = Callable[[UUID, int], Aggregate]

OPEN_STATUSES = frozenset(
    s.value
    for s in RepairOrderStatus
    if s not in {RepairOrderStatus.CLOSED, RepairOrderStatus.CANCELLED}
)


class AggregateFolder:
    """Current aggregates for a stream of events in log order, by folding.

    ``load(id, version)`` rebuilds an aggregate at a version from the store when the cache
    does not hold the one just before the event (first sight after a restart, eviction).
    """

    def __init__(self, load: Load, size: int = 20_000) -> None:
        self._load = load
        self._size = size
        self._cache: OrderedDict[UUID, Any] = OrderedDict()

    def fold(self, event: Any) -> Any:
        oid, version = event.originator_id, event.originator_version
        current = self._cache.pop(oid, None)
        if version == 1:
            current = None
        elif current is None or current.version != version - 1:
            current = self._load(oid, version - 1)
        aggregate = event.mutate(current)
        self._cache[oid] = aggregate
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return aggregate

    def forget(self) -> None:
        self._cache.clear()


def _money(value: Decimal) -> str:
    return str(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (RepairOrder, Vehicle, Customer, Inspection)
}


def _kind(event: DomainEventProtocol[Any]) -> type[Any] | None:
    """The aggregate class an event belongs to (events are nested in their aggregate)."""
    return _KINDS.get(type(event).__qualname__.partition(".")[0])


class _Folding:
    """Shared plumbing: fold what the projection cares about, forget on rollback."""

    cares: tuple[type[Any], ...] = ()

    def __init__(self, load: Load) -> None:
        self.folder = AggregateFolder(load)

    def forget(self) -> None:
        self.folder.forget()

    def apply(self, event: DomainEventProtocol[Any], tx: ReadModelTx) -> None:
        kind = _kind(event)
        if kind is None or kind not in self.cares:
            return
        self.on(kind, self.folder.fold(event), event, tx)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Workshop board
# ---------------------------------------------------------------------------------------------


def board_doc(
    order: views.RepairOrderView,
    vehicle: Doc | None,
    customer: Doc | None,
    opened_at: str | None,
    last_change: str,
) -> Doc:
    approved = sum(
        (
            j.amount
            for j in order.jobs
            if j.status in {JobStatus.APPROVED.value, JobStatus.COMPLETED.value}
        ),
        Decimal(0),
    )
    technicians = sorted({sid for j in order.jobs for sid in j.assigned})
    return {
        "id": str(order.id),
        "version": order.version,
        "status": order.status,
        "open": order.status in OPEN_STATUSES,
        "vehicle_id": str(order.vehicle_id),
        "plate": (vehicle or {}).get("plate"),
        "vin": (vehicle or {}).get("vin"),
        "make": (vehicle or {}).get("make"),
        "model": (vehicle or {}).get("model"),
        "customer_id": str(order.customer_id),
        "customer_name": (customer or {}).get("name"),
        "technicians": technicians,
        "promised_at": _iso(order.promised_at),
        "opened_at": opened_at,
        "opened_on": opened_at[:10] if opened_at else None,
        "jobs": len(order.jobs),
        "quoted_total": _money(order.quoted_subtotal),
        "approved_total": _money(approved),
        "invoiced_total": _money(order.total) if order.invoice_number else None,
        "balance": _money(order.balance),
        "hv_isolated": order.hv_isolated,
        "clocked_on": sorted(order.clocked_on),
        "last_change": last_change,
    }


class WorkshopBoard(_Folding):
    """Every repair order on the floor: status, car, customer, technicians, money, HV state."""

    name = "workshop_board"
    version = 1
    tables = (
        TableSpec(
            "board",
            indexes=(
                "status",
                "open",
                "promised_at",
                "opened_on",
                "plate",
                "vin",
                "customer_name",
                "customer_id",
                "vehicle_id",
            ),
            lists=("technicians",),
        ),
        TableSpec("board_vehicles"),
        TableSpec("board_customers"),
    )
    cares = (RepairOrder, Vehicle, Customer)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        key = str(aggregate.id)
        if kind is Vehicle:
            vehicle = {
                "plate": aggregate.plate,
                "vin": aggregate.vin,
                "make": aggregate.make,
                "model": aggregate.model,
            }
            if tx.get("board_vehicles", key) != vehicle:
                tx.put("board_vehicles", key, vehicle)
            return
        if kind is Customer:
            customer = {"name": aggregate.name}
            if tx.get("board_customers", key) != customer:
                tx.put("board_customers", key, customer)
            return
        order = views.repair_order_view(aggregate)
        previous = tx.get("board", key)
        opened_at = previous["opened_at"] if previous else _iso(event.timestamp)
        tx.put(
            "board",
            key,
            board_doc(
                order,
                tx.get("board_vehicles", str(order.vehicle_id)),
                tx.get("board_customers", str(order.customer_id)),
                opened_at,
                _iso(event.timestamp) or "",
            ),
        )


# ---------------------------------------------------------------------------------------------
# Vehicle profile
# ---------------------------------------------------------------------------------------------


class VehicleProfiles(_Folding):
    """A car's life: owner, odometer, visits, latest inspection, battery SoH trend, warranty,
    software versions."""

    name = "vehicle_profiles"
    version = 1
    tables = (TableSpec("vehicle_profiles", indexes=("owner_id", "vin", "plate")),)
    cares = (Vehicle, RepairOrder, Inspection)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        if kind is Vehicle:
            key = str(aggregate.id)
            view = views.vehicle_view(aggregate, event.timestamp.date())
            previous = tx.get("vehicle_profiles", key) or {}
            tx.put(
                "vehicle_profiles",
                key,
                {
                    "id": key,
                    "version": view.version,
                    "vin": view.vin,
                    "plate": view.plate,
                    "make": view.make,
                    "model": view.model,
                    "year": view.year,
                    "owner_id": str(view.owner_id),
                    "odometer_km": view.odometer_km,
                    "battery_kwh": str(view.battery_kwh),
                    "nominal_voltage_v": str(view.nominal_voltage_v),
                    "soh_trend": [
                        {
                            "measured_at": r.get("measured_at"),
                            "soh_pct": r.get("soh_pct"),
                            "method": r.get("method"),
                        }
                        for r in view.battery_health
                    ],
                    "warranty": view.warranty,
                    "under_warranty": view.under_warranty,
                    "warranty_risk": view.warranty_risk,
                    "software": view.software,
                    "visits": previous.get("visits", []),
                    "latest_inspection": previous.get("latest_inspection"),
                },
            )
            return
        vehicle_key = str(aggregate.vehicle_id)
        profile = tx.get("vehicle_profiles", vehicle_key)
        if profile is None:
            return
        if kind is RepairOrder:
            visit = {
                "repair_order_id": str(aggregate.id),
                "status": aggregate.status.value,
                "odometer_in_km": aggregate.odometer_in_km,
                "total": _money(aggregate.total) if aggregate.invoice_number else None,
                "last_change": _iso(event.timestamp),
            }
            visits = [
                v for v in profile["visits"] if v["repair_order_id"] != visit["repair_order_id"]
            ]
            profile["visits"] = [*visits, visit]
        else:
            summary = inspection_summary(views.inspection_view(aggregate))
            profile["latest_inspection"] = {
                "inspection_id": summary["id"],
                "status": summary["status"],
                "ratings": summary["ratings"],
                "at": _iso(event.timestamp),
            }
        tx.put("vehicle_profiles", vehicle_key, profile)


def inspection_summary(view: views.InspectionView) -> Doc:
    counts: dict[str, int] = {}
    for rating in view.ratings.values():
        value = str(rating.get("rating"))
        counts[value] = counts.get(value, 0) + 1
    return {
        "id": str(view.id),
        "status": view.status,
        "shared": view.shared,
        "ratings": counts,
        "measurements": view.measurements,
        "recommended_jobs": view.recommended_jobs,
    }


# ---------------------------------------------------------------------------------------------
# Customer portal
# ---------------------------------------------------------------------------------------------


class CustomerPortal(_Folding):
    """What a customer sees: their vehicles, open and past orders, quotes awaiting their
    decision, shared inspections. One document per customer."""

    name = "customer_portal"
    version = 1
    tables = (TableSpec("portal", indexes=("customer_id",)), TableSpec("portal_vehicles"))
    cares = (Customer, Vehicle, RepairOrder, Inspection)

    def _portal(self, tx: ReadModelTx, customer_id: str) -> Doc:
        return tx.get("portal", customer_id) or {
            "customer_id": customer_id,
            "name": None,
            "vehicles": {},
            "orders": {},
            "inspections": {},
        }

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        if kind is Customer:
            portal = self._portal(tx, str(aggregate.id))
            portal["name"] = aggregate.name
            tx.put("portal", portal["customer_id"], portal)
        elif kind is Vehicle:
            key = str(aggregate.id)
            owner = str(aggregate.owner_id)
            previous = tx.get("portal_vehicles", key)
            if previous and previous["owner_id"] != owner:
                old = self._portal(tx, previous["owner_id"])
                old["vehicles"].pop(key, None)
                tx.put("portal", old["customer_id"], old)
            tx.put("portal_vehicles", key, {"owner_id": owner})
            portal = self._portal(tx, owner)
            portal["vehicles"][key] = {
                "vehicle_id": key,
                "plate": aggregate.plate,
                "make": aggregate.make,
                "model": aggregate.model,
                "year": aggregate.year,
                "odometer_km": aggregate.odometer_km,
            }
            tx.put("portal", owner, portal)
        elif kind is RepairOrder:
            order = views.repair_order_view(aggregate)
            portal = self._portal(tx, str(order.customer_id))
            portal["orders"][str(order.id)] = {
                "repair_order_id": str(order.id),
                "vehicle_id": str(order.vehicle_id),
                "status": order.status,
                "open": order.status in OPEN_STATUSES,
                "awaiting_approval": [
                    {"job_id": j.job_id, "title": j.title, "amount": _money(j.amount)}
                    for j in order.jobs
                    if j.status == JobStatus.QUOTED.value
                ],
                "total": _money(order.total) if order.invoice_number else None,
                "balance": _money(order.balance),
                "last_change": _iso(event.timestamp),
            }
            tx.put("portal", portal["customer_id"], portal)
        elif kind is Inspection and aggregate.shared:
            found = (tx.get("portal_vehicles", str(aggregate.vehicle_id)) or {}).get("owner_id")
            if not isinstance(found, str):
                return
            owner = found
            portal = self._portal(tx, owner)
            summary = inspection_summary(views.inspection_view(aggregate))
            portal["inspections"][summary["id"]] = {
                "inspection_id": summary["id"],
                "vehicle_id": str(aggregate.vehicle_id),
                "ratings": summary["ratings"],
                "recommended_jobs": summary["recommended_jobs"],
            }
            tx.put("portal", owner, portal)


def all_projections(load: Load) -> list[Any]:
    """Every read model, each with its own fold cache."""
    return [WorkshopBoard(load), VehicleProfiles(load), CustomerPortal(load)]
