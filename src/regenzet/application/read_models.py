"""The read models: workshop board, vehicle profile, customer portal.

Each projection *folds* the events into the aggregate they belong to (the library's own
``event.mutate``, from an LRU cache, or from the repository at the previous version after a
restart) and renders documents from the same read DTOs the queries use. So a read model can
never disagree with the aggregates about a rule: there is no second copy of the domain logic
here, only denormalisation (names, plates) and indexing.

Every row is keyed by its own entity (an order, a vehicle, a visit, an inspection), with the
customer or vehicle it belongs to as an indexed column, so the work an event causes is bounded
by what it changes, never by the history of its customer or vehicle (ADR 0030). The documents
the API serves (a portal, a profile with its visits) are put together at read time from those
rows by :func:`portal_document` and :func:`vehicle_profile_document`, a page of rows at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol

from regenzet.application import views
from regenzet.application.aggregates import aggregate_of
from regenzet.application.projections import Doc, Query, ReadModelStore, ReadModelTx, TableSpec
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


def kind_of(event: DomainEventProtocol[Any]) -> type[Any] | None:
    """The aggregate class an event belongs to, from the one aggregate registry
    (:mod:`regenzet.application.aggregates`): by class, never by name."""
    found = aggregate_of(event)
    return None if found is None else found.cls


PAGE = 500


def rows(store: ReadModelStore, table: str, **equals: Any) -> list[Doc]:
    """Every row of ``table`` with these indexed values, in key order, a page at a time."""
    found: list[Doc] = []
    cursor = None
    while True:
        page = store.query(Query(table, equals=equals, after=cursor, limit=PAGE))
        found += page.items
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _without(doc: Doc, *fields: str) -> Doc:
    return {k: v for k, v in doc.items() if k not in fields}


class _Folding:
    """Shared plumbing: fold what the projection cares about, forget on rollback."""

    cares: tuple[type[Any], ...] = ()

    def __init__(self, load: Load) -> None:
        self.folder = AggregateFolder(load)

    def forget(self) -> None:
        self.folder.forget()

    def apply(self, event: DomainEventProtocol[Any], tx: ReadModelTx) -> None:
        kind = kind_of(event)
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
    software versions.

    The profile row holds the car itself; each visit (repair order) is its own row in
    ``profile_visits`` keyed by the order, with the vehicle indexed, so an order's event rewrites
    one visit, not the list of every visit the car ever had (schema version 2)."""

    name = "vehicle_profiles"
    version = 2
    tables = (
        TableSpec("vehicle_profiles", indexes=("owner_id", "vin", "plate")),
        TableSpec("profile_visits", indexes=("vehicle_id",)),
    )
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
                    "latest_inspection": previous.get("latest_inspection"),
                },
            )
            return
        vehicle_key = str(aggregate.vehicle_id)
        if kind is RepairOrder:
            if tx.get("vehicle_profiles", vehicle_key) is None:
                return
            # The visits are read in the order of their last change (see below).
            at = _iso(event.timestamp)
            tx.put(
                "profile_visits",
                str(aggregate.id),
                {
                    "repair_order_id": str(aggregate.id),
                    "vehicle_id": vehicle_key,
                    "status": aggregate.status.value,
                    "odometer_in_km": aggregate.odometer_in_km,
                    "total": _money(aggregate.total) if aggregate.invoice_number else None,
                    "last_change": at,
                },
            )
            return
        profile = tx.get("vehicle_profiles", vehicle_key)
        if profile is None:
            return
        summary = inspection_summary(views.inspection_view(aggregate))
        profile["latest_inspection"] = {
            "inspection_id": summary["id"],
            "status": summary["status"],
            "ratings": summary["ratings"],
            "at": _iso(event.timestamp),
        }
        tx.put("vehicle_profiles", vehicle_key, profile)


def vehicle_profile_document(store: ReadModelStore, vehicle_id: str) -> Doc | None:
    """A vehicle's profile as the API serves it: the profile row with its ``visits`` (the most
    recently changed last), or None for a vehicle the read model has never seen."""
    profile = store.get("vehicle_profiles", vehicle_id)
    if profile is None:
        return None
    visits = sorted(
        rows(store, "profile_visits", vehicle_id=vehicle_id),
        key=lambda v: (v["last_change"] or "", v["repair_order_id"]),
    )
    latest = profile.pop("latest_inspection", None)
    profile["visits"] = [_without(v, "vehicle_id") for v in visits]
    profile["latest_inspection"] = latest
    return profile


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
    decision, shared inspections.

    One row per customer (``portal``: the name), and one row per vehicle, order and shared
    inspection keyed by its own id with the customer as an indexed column (schema version 2;
    version 1 kept one document per customer holding all of them, which every event of a fleet
    customer copied and rewrote). :func:`portal_document` puts the customer's document together
    at read time."""

    name = "customer_portal"
    version = 2
    tables = (
        TableSpec("portal", indexes=("customer_id",)),
        TableSpec("portal_vehicle_rows", indexes=("customer_id",)),
        TableSpec("portal_order_rows", indexes=("customer_id",)),
        TableSpec("portal_inspection_rows", indexes=("customer_id",)),
    )
    cares = (Customer, Vehicle, RepairOrder, Inspection)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        if kind is Customer:
            key = str(aggregate.id)
            row = {"customer_id": key, "name": aggregate.name}
            if tx.get("portal", key) != row:
                tx.put("portal", key, row)
        elif kind is Vehicle:
            key = str(aggregate.id)
            owner = str(aggregate.owner_id)
            self._ensure(tx, owner)
            # A transfer moves the one row to its new owner's portal.
            tx.put(
                "portal_vehicle_rows",
                key,
                {
                    "customer_id": owner,
                    "vehicle_id": key,
                    "plate": aggregate.plate,
                    "make": aggregate.make,
                    "model": aggregate.model,
                    "year": aggregate.year,
                    "odometer_km": aggregate.odometer_km,
                },
            )
        elif kind is RepairOrder:
            order = views.repair_order_view(aggregate)
            customer = str(order.customer_id)
            self._ensure(tx, customer)
            tx.put(
                "portal_order_rows",
                str(order.id),
                {
                    "customer_id": customer,
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
                },
            )
        elif kind is Inspection and aggregate.shared:
            vehicle = tx.get("portal_vehicle_rows", str(aggregate.vehicle_id))
            found = (vehicle or {}).get("customer_id")
            if not isinstance(found, str):
                return
            summary = inspection_summary(views.inspection_view(aggregate))
            tx.put(
                "portal_inspection_rows",
                summary["id"],
                {
                    "customer_id": found,
                    "inspection_id": summary["id"],
                    "vehicle_id": str(aggregate.vehicle_id),
                    "ratings": summary["ratings"],
                    "recommended_jobs": summary["recommended_jobs"],
                },
            )

    @staticmethod
    def _ensure(tx: ReadModelTx, customer_id: str) -> None:
        """The customer's own row exists once anything of theirs does (as the document did)."""
        if tx.get("portal", customer_id) is None:
            tx.put("portal", customer_id, {"customer_id": customer_id, "name": None})


def portal_document(store: ReadModelStore, customer_id: str) -> Doc | None:
    """A customer's portal as the API serves it (``vehicles``, ``orders`` and ``inspections``
    by id), or None for a customer the read model has never seen."""
    portal = store.get("portal", customer_id)
    if portal is None:
        return None

    def by_id(table: str, field: str) -> dict[str, Doc]:
        return {
            row[field]: _without(row, "customer_id")
            for row in rows(store, table, customer_id=customer_id)
        }

    return {
        "customer_id": customer_id,
        "name": portal.get("name"),
        "vehicles": by_id("portal_vehicle_rows", "vehicle_id"),
        "orders": by_id("portal_order_rows", "repair_order_id"),
        "inspections": by_id("portal_inspection_rows", "inspection_id"),
    }


def all_projections(load: Load) -> list[Any]:
    """Every read model, each with its own fold cache."""
    return [WorkshopBoard(load), VehicleProfiles(load), CustomerPortal(load)]
