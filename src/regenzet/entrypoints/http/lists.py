"""Lists and searches (issue 11): customers, vehicles, staff, inspections, repair orders, and
the inspection template.

Every list reads a read model (never replays aggregates), is cursor-paginated like ``/board``
(``{"items": [...], "next_cursor": ...}``, ``limit`` 1-200, default 50) and applies the object
rules of :mod:`regenzet.application.access`: a customer's list holds only their own rows, and
naming someone else's customer, vehicle or order is the same 404 as a record that does not
exist. Searches are prefix searches on indexed keys (see
:mod:`regenzet.application.directory_models`). ``min_position`` waits for a write, as on the
other read-model routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import attrs
import msgspec
from litestar import Controller
from litestar.params import QueryParameter

from regenzet.application.catalog import DEFAULT_TEMPLATE, get_inspection_template
from regenzet.application.directory_models import (
    customer_query,
    public_row,
    staff_entry,
    staff_ranges,
    vehicle_query,
)
from regenzet.application.errors import NotFoundError
from regenzet.application.identity import Principal
from regenzet.application.projections import Page, Query
from regenzet.domain.common import DomainValidationError, Role
from regenzet.domain.repair_order import RepairOrderStatus
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.read_models import (
    READ_MODEL_PROBLEMS,
    MinPosition,
    _caught_up,
    _store,
)
from regenzet.entrypoints.http.routing import API_PREFIX, Caller, Services, query

Cursor = Annotated[
    str | None, QueryParameter(max_length=400, description="next_cursor of the previous page")
]
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Rows per page (1-200)")]
Search = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]


class ListPage(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    next_cursor: str | None


class InspectionTemplateView(msgspec.Struct, kw_only=True):
    code: str
    version: int
    title: str
    ratings: list[str]
    note_required: str
    sections: list[dict[str, Any]]


def _page(services: Any, name: str, min_position: int | None, query: Query) -> Page:
    store = _store(services)
    _caught_up(services, store, name, min_position)
    try:
        return store.query(query)
    except ValueError:
        raise ApiError(
            422, "invalid-cursor", "cursor is not one this API returned", field="cursor"
        ) from None


def _search(
    services: Any,
    name: str,
    min_position: int | None,
    q: str | None,
    prefixes: tuple[tuple[str, str], ...],
    query: Query,
) -> ListPage:
    """A directory page, searched by ``prefixes`` when ``q`` was given."""
    if q is not None and not prefixes:
        return ListPage(items=[], next_cursor=None)  # "  " or "--" matches nothing, not all
    page = _page(services, name, min_position, attrs.evolve(query, prefixes=prefixes))
    return ListPage(items=[public_row(d) for d in page.items], next_cursor=page.next_cursor)


def _own(principal: Principal) -> str | None:
    """The customer id a customer's lists are limited to (None for staff)."""
    if principal.role is Role.CUSTOMER:
        return str(principal.customer_id)
    return None


class ListController(Controller):
    path = API_PREFIX
    tags = ["lists"]

    @query(
        "/customers",
        "listCustomers",
        "Customers by name, email or phone (prefix, case-insensitive)",
        problems=READ_MODEL_PROBLEMS,
    )
    def customers(
        self,
        services: Services,
        principal: Caller,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                description="Start of any word of the name, of the email, or of the phone "
                "number's digits (at least 3)",
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ListPage:
        own = _own(principal)
        return _search(
            services,
            "customer_directory",
            min_position,
            q,
            customer_query(q),
            Query(
                "customer_directory",
                equals={"id": own} if own else {},
                order_by="name_key",
                after=cursor,
                limit=limit,
            ),
        )

    @query(
        "/vehicles",
        "listVehicles",
        "Vehicles by plate, VIN or the VIN's last characters, or by owner",
        problems=READ_MODEL_PROBLEMS,
    )
    def vehicles(
        self,
        services: Services,
        principal: Caller,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                description="Start of the plate (spaces, dashes and case ignored), start of "
                "the VIN, or its last characters",
            ),
        ] = None,
        owner_id: Annotated[UUID | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ListPage:
        if owner_id is not None:
            services.access.customer(principal, owner_id)
        owner = _own(principal) or (str(owner_id) if owner_id else None)
        return _search(
            services,
            "vehicle_directory",
            min_position,
            q,
            vehicle_query(q),
            Query(
                "vehicle_directory",
                equals={"owner_id": owner} if owner else {},
                order_by="plate_key",
                after=cursor,
                limit=limit,
            ),
        )

    @query(
        "/staff",
        "listStaff",
        "Staff by role, active, HV level valid today and certificate validity",
        problems=READ_MODEL_PROBLEMS,
    )
    def staff(
        self,
        services: Services,
        role: Annotated[
            Literal["technician", "advisor", "manager"] | None, QueryParameter()
        ] = None,
        active: Annotated[bool | None, QueryParameter()] = None,
        min_hv_level: Annotated[
            Literal[0, 1, 2, 3] | None,
            QueryParameter(
                description="At least this HV level today (a level counts only while its "
                "certificate is valid and the member is active)"
            ),
        ] = None,
        certificate_valid: Annotated[
            bool | None, QueryParameter(description="The HV certificate is valid today")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ListPage:
        today = services.clock.today()
        equals: dict[str, Any] = {}
        if role is not None:
            equals["role"] = role
        if active is not None:
            equals["active"] = active
        page = _page(
            services,
            "staff_directory",
            min_position,
            Query(
                "staff_directory",
                equals=equals,
                ranges=staff_ranges(
                    today, min_hv_level=min_hv_level, certificate_valid=certificate_valid
                ),
                order_by="name_key",
                after=cursor,
                limit=limit,
            ),
        )
        return ListPage(
            items=[staff_entry(d, today) for d in page.items], next_cursor=page.next_cursor
        )

    @query(
        "/inspections",
        "listInspections",
        "Inspections of a vehicle or a repair order (customers: shared ones of their own)",
        problems=READ_MODEL_PROBLEMS,
    )
    def inspections(
        self,
        services: Services,
        principal: Caller,
        vehicle_id: Annotated[UUID | None, QueryParameter()] = None,
        repair_order_id: Annotated[UUID | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ListPage:
        equals: dict[str, Any] = {}
        if vehicle_id is not None:
            services.access.vehicle(principal, vehicle_id)
            equals["vehicle_id"] = str(vehicle_id)
        if repair_order_id is not None:
            services.access.repair_order(principal, repair_order_id)
            equals["repair_order_id"] = str(repair_order_id)
        if principal.role is Role.CUSTOMER:
            if not equals:
                # Inspection rows name the vehicle, not its (changing) owner: a customer
                # lists per vehicle or order, which the checks above prove are theirs.
                raise ApiError(
                    422,
                    "validation",
                    "customers list inspections per vehicle_id or repair_order_id",
                    field="vehicle_id",
                )
            equals["shared"] = True
        page = _page(
            services,
            "inspection_summaries",
            min_position,
            Query("inspection_summaries", equals=equals, after=cursor, limit=limit),
        )
        return ListPage(items=page.items, next_cursor=page.next_cursor)

    @query(
        "/repair-orders",
        "listRepairOrders",
        "Repair orders of a vehicle or a customer, newest first (history beyond the board)",
        problems=READ_MODEL_PROBLEMS,
    )
    def repair_orders(
        self,
        services: Services,
        principal: Caller,
        vehicle_id: Annotated[UUID | None, QueryParameter()] = None,
        customer_id: Annotated[UUID | None, QueryParameter()] = None,
        status: Annotated[RepairOrderStatus | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> ListPage:
        equals: dict[str, Any] = {}
        if customer_id is not None:
            services.access.customer(principal, customer_id)
            equals["customer_id"] = str(customer_id)
        own = _own(principal)
        if own is not None:
            # The order's customer is fixed when it opens: its rows are theirs whatever
            # happens to the vehicle later.
            equals["customer_id"] = own
        if vehicle_id is not None:
            equals["vehicle_id"] = str(vehicle_id)
        if status is not None:
            equals["status"] = status.value
        page = _page(
            services,
            "workshop_board",
            min_position,
            Query(
                "board",
                equals=equals,
                order_by="opened_on",
                descending=True,
                after=cursor,
                limit=limit,
            ),
        )
        return ListPage(items=page.items, next_cursor=page.next_cursor)

    @query(
        "/inspection-template",
        "getInspectionTemplate",
        "The inspection checklist: sections, items, measurements with units and ranges",
    )
    def inspection_template(
        self,
        code: Annotated[
            str, QueryParameter(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
        ] = DEFAULT_TEMPLATE[0],
        version: Annotated[int, QueryParameter(ge=1, le=9999)] = DEFAULT_TEMPLATE[1],
    ) -> InspectionTemplateView:
        try:
            template = get_inspection_template(code, version)
        except DomainValidationError:
            raise NotFoundError("inspection template", f"{code} v{version}") from None
        return msgspec.convert(template, InspectionTemplateView)
