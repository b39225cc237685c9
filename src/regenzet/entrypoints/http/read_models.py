"""Read-model endpoints: the workshop board, a vehicle's profile, a customer's portal.

Every read accepts ``min_position`` (the ``position`` a write returned): the answer waits, at
most two seconds, until the read model has applied it, so a client reads its own writes;
otherwise it is a 503 with ``Retry-After``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller
from litestar.params import FromPath, QueryParameter

from regenzet.application.errors import NotFoundError
from regenzet.application.operations_models import roll_up, workload_document
from regenzet.application.projections import Query, ReadModelStore, wait_for_position
from regenzet.application.read_models import portal_document, vehicle_profile_document
from regenzet.domain.repair_order import RepairOrderStatus
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    READ_PROBLEMS,
    Caller,
    Services,
    problems,
    query,
)

# A position past the log's end, or a cursor we never issued, is a 422.
READ_MODEL_PROBLEMS = {**READ_PROBLEMS, **problems(422)}

READ_YOUR_WRITES_TIMEOUT = 2.0

MinPosition = Annotated[
    int | None,
    QueryParameter(
        # 1, not 0: Litestar drops a zero minimum of an optional parameter from the schema.
        ge=1,
        le=2**62,
        description="Wait (at most 2 s) until the read model has applied this log position.",
    ),
]


class BoardPage(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    next_cursor: str | None
    position: int


class Document(msgspec.Struct, kw_only=True):
    item: dict[str, Any]
    position: int


def _store(services: Any) -> ReadModelStore:
    store: ReadModelStore | None = services.read_models
    if store is None:
        raise ApiError(503, "unavailable", "read models are not running here")
    return store


def _caught_up(services: Any, store: ReadModelStore, name: str, minimum: int | None) -> int:
    # An empty log has no notification id at all (None): its end is position 0.
    if minimum is not None and minimum > (services.workshop.recorder.max_notification_id() or 0):
        raise ApiError(
            422,
            "position-not-in-log",
            f"position {minimum} is past the end of the event log",
            field="min_position",
        )
    if minimum is not None and not wait_for_position(
        lambda: store.status(name)[0], minimum, timeout=READ_YOUR_WRITES_TIMEOUT
    ):
        raise ApiError(
            503,
            "read-model-behind",
            f"the {name} read model has not reached position {minimum} yet",
            headers={"Retry-After": "1"},
        )
    return store.status(name)[0]


class KpiReport(msgspec.Struct, kw_only=True):
    period: str
    rows: list[dict[str, Any]]
    position: int


# A year of daily rows is the most one report reads.
MAX_KPI_DAYS = 400


class ReadModelController(Controller):
    path = API_PREFIX
    tags = ["read models"]

    @query(
        "/board",
        "getWorkshopBoard",
        "Repair orders on the floor, sorted by promised time",
        problems=READ_MODEL_PROBLEMS,
    )
    def board(
        self,
        services: Services,
        status: Annotated[RepairOrderStatus | None, QueryParameter()] = None,
        technician: Annotated[UUID | None, QueryParameter()] = None,
        opened_from: Annotated[date | None, QueryParameter()] = None,
        opened_to: Annotated[date | None, QueryParameter()] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=100, description="Search plate, VIN, customer name"
            ),
        ] = None,
        open_only: Annotated[bool, QueryParameter()] = False,
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        min_position: MinPosition = None,
    ) -> BoardPage:
        store = _store(services)
        position = _caught_up(services, store, "workshop_board", min_position)
        equals: dict[str, Any] = {}
        if status:
            equals["status"] = status.value
        if open_only:
            equals["open"] = True
        between = None
        if opened_from or opened_to:
            low = (opened_from or date.min).isoformat()
            high = (opened_to or date.max).isoformat()
            between = ("opened_on", low, high)
        try:
            page = store.query(
                Query(
                    "board",
                    equals=equals,
                    contains={"technicians": str(technician)} if technician else {},
                    search=(("plate", "vin", "customer_name"), q) if q else None,
                    between=between,
                    order_by="promised_at",
                    after=cursor,
                    limit=limit,
                )
            )
        except ValueError:
            raise ApiError(
                422, "invalid-cursor", "cursor is not one this API returned", field="cursor"
            ) from None
        return BoardPage(items=page.items, next_cursor=page.next_cursor, position=position)

    @query(
        "/vehicles/{vehicle_id:uuid}/profile",
        "getVehicleProfile",
        "A vehicle's visits, battery SoH trend, warranty risk and software",
        problems=READ_MODEL_PROBLEMS,
    )
    def vehicle_profile(
        self,
        vehicle_id: FromPath[UUID],
        services: Services,
        principal: Caller,
        min_position: MinPosition = None,
    ) -> Document:
        services.access.vehicle(principal, vehicle_id)
        store = _store(services)
        position = _caught_up(services, store, "vehicle_profiles", min_position)
        doc = vehicle_profile_document(store, str(vehicle_id))
        if doc is None:
            raise NotFoundError("vehicle", vehicle_id)
        return Document(item=doc, position=position)

    @query(
        "/customers/{customer_id:uuid}/portal",
        "getCustomerPortal",
        "A customer's vehicles, orders, quotes awaiting approval and shared inspections",
        problems=READ_MODEL_PROBLEMS,
    )
    def customer_portal(
        self,
        customer_id: FromPath[UUID],
        services: Services,
        principal: Caller,
        min_position: MinPosition = None,
    ) -> Document:
        services.access.customer(principal, customer_id)
        store = _store(services)
        position = _caught_up(services, store, "customer_portal", min_position)
        doc = portal_document(store, str(customer_id))
        if doc is None:
            raise NotFoundError("customer", customer_id)
        return Document(item=doc, position=position)

    @query(
        "/technicians/{staff_id:uuid}/workload",
        "getTechnicianWorkload",
        "Assigned jobs, the clocked-on job, hours per day, HV level and certificate expiry",
        problems=READ_MODEL_PROBLEMS,
    )
    def technician_workload(
        self,
        staff_id: FromPath[UUID],
        services: Services,
        principal: Caller,
        min_position: MinPosition = None,
    ) -> Document:
        services.access.technician_workload(principal, staff_id)
        store = _store(services)
        position = _caught_up(services, store, "technician_workload", min_position)
        doc = workload_document(store, str(staff_id))
        if doc is None:
            raise NotFoundError("technician", staff_id)
        return Document(item=doc, position=position)

    @query(
        "/inspections/{inspection_id:uuid}/summary",
        "getInspectionSummary",
        "Counts by rating, measurements with pass/fail, recommended jobs",
        problems=READ_MODEL_PROBLEMS,
    )
    def inspection_summary(
        self,
        inspection_id: FromPath[UUID],
        services: Services,
        principal: Caller,
        min_position: MinPosition = None,
    ) -> Document:
        services.access.inspection(principal, inspection_id)
        store = _store(services)
        position = _caught_up(services, store, "inspection_summaries", min_position)
        doc = store.get("inspection_summaries", str(inspection_id))
        if doc is None:
            raise NotFoundError("inspection", inspection_id)
        return Document(item=doc, position=position)

    @query(
        "/kpis",
        "getKpis",
        "Car count, average order value, approval rate, labour efficiency, HV jobs, time in state",
        problems=READ_MODEL_PROBLEMS,
    )
    def kpis(
        self,
        services: Services,
        period: Annotated[Literal["day", "week", "month"], QueryParameter()] = "day",
        day_from: Annotated[date | None, QueryParameter(name="from")] = None,
        day_to: Annotated[date | None, QueryParameter(name="to")] = None,
        min_position: MinPosition = None,
    ) -> KpiReport:
        store = _store(services)
        position = _caught_up(services, store, "kpis", min_position)
        end = day_to or services.clock.today()
        start = day_from or end - timedelta(days=30)
        if start > end:
            raise ApiError(422, "validation", "from must not be after to", field="from")
        if (end - start).days > MAX_KPI_DAYS:
            raise ApiError(
                422, "validation", f"at most {MAX_KPI_DAYS} days per report", field="from"
            )
        days = store.query(
            Query(
                "kpis_daily",
                between=("day", start.isoformat(), end.isoformat()),
                order_by="day",
                limit=MAX_KPI_DAYS + 1,
            )
        ).items
        return KpiReport(period=period, rows=roll_up(days, period), position=position)
