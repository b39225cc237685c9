"""The assistant's tools: read-only, each a thin call into the existing queries and read
models **as the caller**, with the same object-level checks as the API (``access``).

Each tool names the API operation it mirrors (``operation_id``); the assistant offers a tool
only when the role policy allows that operation for the caller's role, so the API and the
assistant share one policy table. No tool takes a customer id: a customer's tools start from
the customer on their token. A record the caller may not see is reported exactly as the API
reports it ("repair order X not found"). Arguments are validated like API input: unknown
names, wrong types and malformed ids are refused before any query runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from regenzet.application.access import ObjectAccess
from regenzet.application.errors import NotFoundError
from regenzet.application.identity import Principal
from regenzet.application.operations_models import roll_up, workload_document
from regenzet.application.ports import Clock
from regenzet.application.projections import Doc, Query, ReadModelStore
from regenzet.application.read_models import portal_document
from regenzet.application.views import plain
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Role


class ToolError(Exception):
    """A tool refused its arguments or found nothing the caller may see (sent to the model as
    a ``status: error`` result, so it can explain instead of retrying blindly)."""


@attrs.frozen
class ToolOutput:
    """What a tool returns: data for the model, the ids of the records it read (for audit and
    citations), free text written by people (kept apart and screened), links to screens."""

    data: dict[str, Any]
    record_ids: tuple[str, ...] = ()
    untrusted: Mapping[str, str] = attrs.field(factory=dict)
    links: Mapping[str, str] = attrs.field(factory=dict)


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{0,13}[A-Z0-9]$")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


@attrs.frozen
class Param:
    kind: str  # uuid | plate | vin | enum | int
    description: str
    choices: tuple[str, ...] = ()
    minimum: int = 1
    maximum: int = 400

    def schema(self) -> dict[str, Any]:
        if self.kind == "uuid":
            return {"type": "string", "format": "uuid", "description": self.description}
        if self.kind == "plate":
            return {"type": "string", "maxLength": 15, "description": self.description}
        if self.kind == "vin":
            return {
                "type": "string",
                "minLength": 17,
                "maxLength": 17,
                "description": self.description,
            }
        if self.kind == "enum":
            return {"type": "string", "enum": list(self.choices), "description": self.description}
        return {
            "type": "integer",
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.description,
        }

    def check(self, name: str, value: Any) -> Any:
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ToolError(f"{name} must be an integer")
            if not self.minimum <= value <= self.maximum:
                raise ToolError(f"{name} must be between {self.minimum} and {self.maximum}")
            return value
        if not isinstance(value, str) or len(value) > 64:
            raise ToolError(f"{name} must be a short string")
        value = value.strip()
        if self.kind == "uuid":
            if not _UUID.match(value):
                raise ToolError(f"{name} is not a valid id")
            return value.lower() if "-" in value else _dashed(value.lower())
        if self.kind == "plate":
            plate = value.upper()
            if not _PLATE.match(plate):
                raise ToolError(f"{name} is not a licence plate")
            return plate
        if self.kind == "vin":
            vin = value.upper()
            if not _VIN.match(vin):
                raise ToolError(f"{name} is not a 17-character VIN")
            return vin
        if value not in self.choices:
            raise ToolError(f"{name} must be one of {', '.join(self.choices)}")
        return value


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


Runner = Callable[[Principal, dict[str, Any]], ToolOutput]


@attrs.frozen
class Tool:
    name: str
    description: str
    operation_id: str
    params: Mapping[str, Param]
    runner: Runner
    customer_only: bool = False
    one_of: tuple[str, ...] = ()  # exactly one of these must be given (when not empty)

    def applies_to(self, principal: Principal) -> bool:
        return principal.customer_id is not None if self.customer_only else True

    def input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {k: p.schema() for k, p in self.params.items()},
            "additionalProperties": False,
        }

    def run(self, principal: Principal, arguments: Any) -> ToolOutput:
        if not isinstance(arguments, dict):
            raise ToolError("arguments must be an object")
        unknown = sorted(str(k) for k in arguments if k not in self.params)
        if unknown:
            raise ToolError(f"unknown argument {unknown[0][:40]!r}")
        checked = {
            k: self.params[k].check(k, v) for k, v in arguments.items() if v not in (None, "")
        }
        if self.one_of and sum(k in checked for k in self.one_of) != 1:
            raise ToolError(f"give exactly one of {', '.join(self.one_of)}")
        try:
            return self.runner(principal, checked)
        except NotFoundError as error:
            raise ToolError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# The tools
# ---------------------------------------------------------------------------------------------

_BOARD_STATUSES = (
    "draft",
    "inspecting",
    "awaiting_approval",
    "approved",
    "in_progress",
    "waiting_for_parts",
    "quality_check",
    "ready_for_pickup",
    "invoiced",
    "closed",
    "cancelled",
)
_RED_FIRST = {"red": 0, "amber": 1}


class WorkshopTools:
    """Builds the tool set over the workshop's queries, the read models and the object checks."""

    def __init__(
        self,
        workshop: Workshop,
        access: ObjectAccess,
        read_models: ReadModelStore,
        clock: Clock,
    ) -> None:
        self._w = workshop
        self._access = access
        self._rm = read_models
        self._clock = clock

    def all(self) -> list[Tool]:
        order_or_plate = {
            "repair_order_id": Param("uuid", "The repair order's id"),
            "plate": Param("plate", "The vehicle's licence plate (its latest order)"),
        }
        vehicle_ref = {
            "vehicle_id": Param("uuid", "The vehicle's id"),
            "plate": Param("plate", "The vehicle's licence plate"),
            "vin": Param("vin", "The vehicle's 17-character VIN"),
        }
        return [
            Tool(
                "list_my_vehicles",
                "The caller's own vehicles (plate, make, model, year, odometer).",
                "getCustomerPortal",
                {},
                self._my_vehicles,
                customer_only=True,
            ),
            Tool(
                "list_my_repair_orders",
                "The caller's own repair orders: status, jobs awaiting their approval, balance.",
                "getCustomerPortal",
                {},
                self._my_orders,
                customer_only=True,
            ),
            Tool(
                "get_repair_order",
                "A repair order's status, concerns, quote lines (jobs with labour and parts), "
                "totals and balance. By id or by the vehicle's plate.",
                "getRepairOrder",
                order_or_plate,
                self._repair_order,
                one_of=("repair_order_id", "plate"),
            ),
            Tool(
                "get_inspection_findings",
                "An inspection's red and amber findings with notes, measurements and "
                "recommended jobs. By inspection id or repair order id.",
                "getInspectionSummary",
                {
                    "inspection_id": Param("uuid", "The inspection's id"),
                    "repair_order_id": Param("uuid", "The repair order's id"),
                },
                self._findings,
                one_of=("inspection_id", "repair_order_id"),
            ),
            Tool(
                "get_battery_health",
                "A vehicle's battery state-of-health trend, warranty and warranty risk.",
                "getVehicleProfile",
                vehicle_ref,
                self._battery,
                one_of=("vehicle_id", "plate", "vin"),
            ),
            Tool(
                "get_workshop_board",
                "Open repair orders on the workshop floor, optionally by status or plate.",
                "getWorkshopBoard",
                {
                    "status": Param("enum", "Only orders in this status", _BOARD_STATUSES),
                    "plate": Param("plate", "Only this vehicle's orders"),
                },
                self._board,
            ),
            Tool(
                "get_technician_workload",
                "A technician's assigned jobs, the job clocked on and hours clocked "
                "(a technician's own when no id is given).",
                "getTechnicianWorkload",
                {"staff_id": Param("uuid", "The technician's staff id")},
                self._workload,
            ),
            Tool(
                "get_kpis",
                "Garage KPIs (orders, approval rate, invoiced totals, labour hours) per period.",
                "getKpis",
                {
                    "period": Param("enum", "day, week or month", ("day", "week", "month")),
                    "days": Param("int", "How many days back (default 30)", minimum=1, maximum=400),
                },
                self._kpis,
            ),
        ]

    # -- customers' own records --------------------------------------------------------------

    def _portal(self, principal: Principal) -> Doc:
        if principal.customer_id is None:
            raise ToolError("this tool is for customers")
        self._access.customer(principal, principal.customer_id)
        return portal_document(self._rm, str(principal.customer_id)) or {
            "vehicles": {},
            "orders": {},
        }

    def _my_vehicles(self, principal: Principal, _args: dict[str, Any]) -> ToolOutput:
        vehicles = sorted(self._portal(principal)["vehicles"].values(), key=lambda v: v["plate"])
        return ToolOutput({"vehicles": vehicles}, tuple(v["vehicle_id"] for v in vehicles))

    def _my_orders(self, principal: Principal, _args: dict[str, Any]) -> ToolOutput:
        portal = self._portal(principal)
        plates = {k: v["plate"] for k, v in portal["vehicles"].items()}
        # Open orders first, the most recently changed first.
        orders = [
            {**o, "plate": plates.get(o["vehicle_id"])}
            for o in sorted(
                portal["orders"].values(),
                key=lambda o: (o["open"], o["last_change"] or ""),
                reverse=True,
            )
        ]
        links = {
            f"approve {o['repair_order_id']}": f"/portal/repair-orders/{o['repair_order_id']}"
            for o in orders
            if o["awaiting_approval"]
        }
        return ToolOutput(
            {"orders": orders}, tuple(o["repair_order_id"] for o in orders), links=links
        )

    # -- orders ------------------------------------------------------------------------------

    def _order_for_plate(self, principal: Principal, plate: str) -> str:
        if principal.role is Role.CUSTOMER:
            portal = self._portal(principal)
            ids = {k for k, v in portal["vehicles"].items() if v["plate"] == plate}
            orders = [o for o in portal["orders"].values() if o["vehicle_id"] in ids]
            orders.sort(key=lambda o: (o["open"], o["last_change"] or ""), reverse=True)
        else:
            orders = self._rm.query(Query("board", equals={"plate": plate}, limit=50)).items
            orders.sort(key=lambda o: (o["open"], o["opened_at"] or ""), reverse=True)
        if not orders:
            raise ToolError(f"no repair order found for plate {plate}")
        return str(orders[0].get("repair_order_id") or orders[0]["id"])

    def _repair_order(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        raw = args.get("repair_order_id") or self._order_for_plate(principal, args["plate"])
        order_id = _uuid(raw)
        self._access.repair_order(principal, order_id)
        order = self._w.get_repair_order(order_id)
        jobs = [
            {
                "job_id": j.job_id,
                "title": j.title,
                "status": j.status,
                "hv_work": j.hv_work,
                "amount": str(j.amount),
                "labour": j.labour,
                "parts": j.parts,
            }
            for j in order.jobs
        ]
        awaiting = [j["job_id"] for j in jobs if j["status"] == "quoted"]
        screen = "portal" if principal.role is Role.CUSTOMER else "app"
        links = {"order": f"/{screen}/repair-orders/{order.id}"}
        if awaiting:
            links["approve"] = f"/portal/repair-orders/{order.id}"
        data = {
            "repair_order_id": str(order.id),
            "vehicle_id": str(order.vehicle_id),
            "status": order.status,
            "promised_at": order.promised_at.isoformat() if order.promised_at else None,
            "jobs": jobs,
            "awaiting_approval": awaiting,
            "currency": order.currency,
            "quoted_subtotal": str(order.quoted_subtotal),
            "invoice_number": order.invoice_number,
            "total": str(order.total),
            "balance": str(order.balance),
            "outstanding_part_requests": order.outstanding_part_requests,
            "inspection_ids": order.inspection_ids,
        }
        untrusted = {f"concern_{i + 1}": c for i, c in enumerate(order.concerns)}
        if order.cancel_reason:
            untrusted["cancel_reason"] = order.cancel_reason
        return ToolOutput(data, (str(order.id),), untrusted=untrusted, links=links)

    # -- inspections -------------------------------------------------------------------------

    def _findings(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        if "inspection_id" in args:
            inspection_ids = [_uuid(args["inspection_id"])]
        else:
            order_id = _uuid(args["repair_order_id"])
            self._access.repair_order(principal, order_id)
            inspection_ids = [_uuid(i) for i in self._w.get_repair_order(order_id).inspection_ids]
            if principal.role is Role.CUSTOMER:
                inspection_ids = [i for i in inspection_ids if self._visible(principal, i)]
            if not inspection_ids:
                raise ToolError(f"no inspection found for repair order {order_id}")
            inspection_ids = inspection_ids[-1:]
        inspection_id = inspection_ids[0]
        self._access.inspection(principal, inspection_id)
        view = self._w.get_inspection(inspection_id)
        findings = sorted(
            (
                {"item": code, "rating": str(r.get("rating"))}
                for code, r in view.ratings.items()
                if str(r.get("rating")) in _RED_FIRST
            ),
            key=lambda f: (_RED_FIRST[f["rating"]], f["item"]),
        )
        untrusted = {
            f"note_{code}": str(r["note"])
            for code, r in sorted(view.ratings.items())
            if r.get("note") and str(r.get("rating")) in _RED_FIRST
        }
        recommended = []
        for index, job in enumerate(view.recommended_jobs):
            recommended.append({k: job.get(k) for k in ("item_code", "title", "severity")})
            if job.get("reason"):  # carries the technician's note: free text
                untrusted[f"reason_{index + 1}"] = str(job["reason"])
        data = {
            "inspection_id": str(view.id),
            "vehicle_id": str(view.vehicle_id),
            "repair_order_id": str(view.repair_order_id) if view.repair_order_id else None,
            "status": view.status,
            "findings": findings,
            "measurements": plain(view.measurements),
            "recommended_jobs": recommended,
        }
        return ToolOutput(data, (str(view.id),), untrusted=untrusted)

    def _visible(self, principal: Principal, inspection_id: Any) -> bool:
        try:
            self._access.inspection(principal, inspection_id)
        except NotFoundError:
            return False
        return True

    # -- vehicles ----------------------------------------------------------------------------

    def _vehicle_id(self, principal: Principal, args: dict[str, Any]) -> str:
        if "vehicle_id" in args:
            return str(args["vehicle_id"])
        if principal.role is Role.CUSTOMER:
            # A customer resolves plates and VINs only among their own vehicles.
            field = "plate" if "plate" in args else "vin"
            for key in sorted(self._portal(principal)["vehicles"]):
                profile = self._rm.get("vehicle_profiles", key) or {}
                if profile.get(field) == args[field]:
                    return str(key)
        elif "vin" in args:
            try:
                return str(self._w.find_vehicle_id(args["vin"]))
            except NotFoundError:
                pass
        else:
            found = self._rm.query(
                Query("vehicle_profiles", equals={"plate": args["plate"]}, limit=1)
            ).items
            if found:
                return str(found[0]["id"])
        ref = args.get("plate") or args.get("vin")
        raise ToolError(f"vehicle {ref} not found")

    def _battery(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        vehicle_id = _uuid(self._vehicle_id(principal, args))
        self._access.vehicle(principal, vehicle_id)
        profile = self._rm.get("vehicle_profiles", str(vehicle_id))
        if profile is None:
            raise NotFoundError("vehicle", vehicle_id)
        trend = profile["soh_trend"]
        data = {
            "vehicle_id": profile["id"],
            "plate": profile["plate"],
            "make": profile["make"],
            "model": profile["model"],
            "battery_kwh": profile["battery_kwh"],
            "soh_trend": trend,
            "latest_soh_pct": trend[-1]["soh_pct"] if trend else None,
            "warranty": profile["warranty"],
            "under_warranty": profile["under_warranty"],
            "warranty_risk": profile["warranty_risk"],
        }
        return ToolOutput(data, (profile["id"],))

    # -- staff -------------------------------------------------------------------------------

    def _board(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        equals: dict[str, Any] = {}
        if "status" in args:
            equals["status"] = args["status"]
        else:
            equals["open"] = True
        if "plate" in args:
            equals["plate"] = args["plate"]
        page = self._rm.query(Query("board", equals=equals, order_by="promised_at", limit=25))
        keep = ("id", "status", "plate", "make", "model", "customer_name", "promised_at", "jobs")
        items = [{k: o.get(k) for k in keep} for o in page.items]
        return ToolOutput(
            {"orders": items, "more": page.next_cursor is not None},
            tuple(str(o["id"]) for o in items),
            links={"board": "/app/board"},
        )

    def _workload(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        raw = args.get("staff_id") or (str(principal.staff_id) if principal.staff_id else None)
        if raw is None:
            raise ToolError("give staff_id")
        staff_id = _uuid(raw)
        self._access.technician_workload(principal, staff_id)
        doc = workload_document(self._rm, str(staff_id))
        if doc is None:
            raise NotFoundError("technician", staff_id)
        keep = (
            "staff_id",
            "name",
            "hv_level",
            "effective_hv_level",
            "certificate_expires_on",
            "assigned_jobs",
            "clocked_on",
            "clocked_hours_total",
        )
        data = {k: doc.get(k) for k in keep}
        data["staff_id"] = str(staff_id)
        return ToolOutput(data, (str(staff_id),))

    def _kpis(self, principal: Principal, args: dict[str, Any]) -> ToolOutput:
        end = self._clock.today()
        start = end - timedelta(days=int(args.get("days", 30)))
        days = self._rm.query(
            Query(
                "kpis_daily",
                between=("day", start.isoformat(), end.isoformat()),
                order_by="day",
                limit=401,
            )
        ).items
        rows = roll_up(days, args.get("period", "week"))
        return ToolOutput(
            {"from": start.isoformat(), "to": end.isoformat(), "rows": rows},
            links={"kpis": "/app/kpis"},
        )


def _uuid(value: Any) -> Any:
    from uuid import UUID

    try:
        return UUID(str(value))
    except ValueError:
        raise ToolError("not a valid id") from None
