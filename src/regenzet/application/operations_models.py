"""Operations read models: technician workload, inspection summaries, daily workshop KPIs.

Same pattern as :mod:`regenzet.application.read_models`: each projection *folds* the events into
their aggregate (``event.mutate`` via :class:`AggregateFolder`) and renders documents from the
read DTOs in :mod:`regenzet.application.views`. Figures the domain computed (labour hours from
clock-on/clock-off, measurement verdicts, invoice lines and totals) are read from the DTOs or from
the recorded events, never recomputed here. Counting, summing and dating them is all that happens.

Decimal figures are stored as strings (exact); dates and times as ISO 8601 strings, days in UTC.

Rows are keyed by what they describe (a staff member, a day, an assigned job, a job's clocked
hours), so an event rewrites a bounded number of small rows whatever a technician's or the
garage's history (ADR 0030); :func:`workload_document` puts a technician's workload together at
read time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from regenzet.application import views
from regenzet.application.projections import Doc, ReadModelStore, ReadModelTx, TableSpec
from regenzet.application.read_models import (
    Load,
    _Folding,
    _iso,
    _money,
    _without,
    inspection_summary,
    rows,
)
from regenzet.domain.common import money
from regenzet.domain.inspection import Inspection, Rating
from regenzet.domain.repair_order import RepairOrder, RepairOrderStatus
from regenzet.domain.staff import StaffMember

_OPENED = RepairOrder.Opened
_QUOTE_SENT = RepairOrder.QuoteSent
_JOB_APPROVED = RepairOrder.JobApproved
_JOB_DECLINED = RepairOrder.JobDeclined
_LABOUR_CLOCKED_OFF = RepairOrder.LabourClockedOff
_JOB_COMPLETED = RepairOrder.JobCompleted
_INVOICED = RepairOrder.Invoiced
_LABOUR_STARTED = StaffMember.LabourStarted

_TERMINAL = frozenset({RepairOrderStatus.CLOSED.value, RepairOrderStatus.CANCELLED.value})
_MICRO = Decimal("0.000001")
_RATE = Decimal("0.0001")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(value: datetime) -> str:
    """The UTC calendar day of a time, as ``YYYY-MM-DD``."""
    return _utc(value).date().isoformat()


def _add(total: str | None, amount: Decimal) -> str:
    return str(Decimal(total or "0") + amount)


def _seconds(delta: timedelta) -> Decimal:
    whole = Decimal(delta.days * 86_400 + delta.seconds)
    return (whole + Decimal(delta.microseconds).scaleb(-6)).quantize(_MICRO)


class _OperationsFolding(_Folding):
    """``_Folding`` (its kind table knows staff members too)."""


# ---------------------------------------------------------------------------------------------
# Technician workload
# ---------------------------------------------------------------------------------------------


# The fields of a workload document, in the order the API has always served them; the three
# that grow with a technician's history live in rows of their own.
_WORKLOAD_FIELDS = (
    "staff_id", "version", "name", "email", "role", "active", "hv_level", "effective_hv_level",
    "effective_as_of", "certificate_id", "certificate_expires_on", "assigned_jobs", "clocked_on",
    "clocked_hours", "clocked_hours_total", "clocked_jobs", "last_change",
)  # fmt: skip
_WORKLOAD_ROWS = ("assigned_jobs", "clocked_hours", "clocked_jobs")


def _empty_workload(staff_id: str) -> Doc:
    return {
        "staff_id": staff_id,
        "version": 0,
        "name": None,
        "email": None,
        "role": None,
        "active": None,
        "hv_level": 0,
        "effective_hv_level": 0,
        "effective_as_of": None,
        "certificate_id": None,
        "certificate_expires_on": None,
        "clocked_on": None,
        "clocked_hours_total": "0",
        "last_change": None,
    }


class TechnicianWorkload(_OperationsFolding):
    """Per staff member: HV qualification, assigned jobs, the job clocked on, hours per day.

    * ``effective_hv_level`` is the domain's answer as of ``effective_as_of``, the UTC day of the
      last staff-member event (a certificate expiring later changes nothing until the next one).
    * ``assigned_jobs`` come from the repair orders' jobs (``jobs[].assigned``): one row per
      (staff member, order, job) in ``workload_jobs``; the helper table ``workload_orders``
      remembers who was on each order with which jobs, so changes reach everyone affected.
    * ``clocked_hours`` sums the hours the repair order computed at each clock-off, on the UTC
      day the labour was clocked on (a shift crossing midnight counts on its first day): one row
      per (staff member, day) in ``workload_hours``, and per job in ``workload_clocked``.

    Schema version 2: version 1 kept all of it in one document per staff member.
    """

    name = "technician_workload"
    version = 2
    tables = (
        TableSpec("workload", indexes=("role", "active")),
        TableSpec("workload_orders"),
        TableSpec("workload_jobs", indexes=("staff_id",)),
        TableSpec("workload_hours", indexes=("staff_id",)),
        TableSpec("workload_clocked", indexes=("staff_id",)),
    )
    cares = (StaffMember, RepairOrder)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        if kind is StaffMember:
            self._staff(aggregate, event, tx)
        else:
            self._order(aggregate, event, tx)

    @staticmethod
    def _load(tx: ReadModelTx, staff_id: str) -> Doc:
        return tx.get("workload", staff_id) or _empty_workload(staff_id)

    def _staff(self, aggregate: StaffMember, event: Any, tx: ReadModelTx) -> None:
        today = _utc(event.timestamp).date()
        view = views.staff_view(aggregate, today)
        key = str(view.id)
        doc = self._load(tx, key)
        doc.update(
            version=view.version,
            name=view.name,
            email=view.email,
            role=view.role,
            active=view.active,
            hv_level=view.hv_level,
            effective_hv_level=view.effective_hv_level,
            effective_as_of=today.isoformat(),
            certificate_id=view.certificate_id,
            certificate_expires_on=_iso(view.certificate_expires_on),
            last_change=_iso(event.timestamp),
        )
        if view.clocked_on is None:
            doc["clocked_on"] = None
        elif isinstance(event, _LABOUR_STARTED):
            doc["clocked_on"] = {**view.clocked_on, "since": _iso(event.at)}
        elif doc["clocked_on"] is None:  # not expected: clocked on without a LabourStarted
            doc["clocked_on"] = {**view.clocked_on, "since": None}
        tx.put("workload", key, doc)

    def _order(self, aggregate: RepairOrder, event: Any, tx: ReadModelTx) -> None:
        order = views.repair_order_view(aggregate)
        order_id = str(order.id)
        current: dict[str, list[Doc]] = {}
        for job in order.jobs:
            for staff_id in job.assigned:
                current.setdefault(staff_id, []).append(
                    {
                        "repair_order_id": order_id,
                        "job_id": job.job_id,
                        "title": job.title,
                        "status": job.status,
                        "hv_work": job.hv_work,
                        "order_status": order.status,
                    }
                )
        now = {s: sorted(jobs, key=_job_key) for s, jobs in sorted(current.items())}
        previous = tx.get("workload_orders", order_id)
        before: dict[str, list[Doc]] = previous["jobs"] if previous else {}
        if now != before:
            tx.put("workload_orders", order_id, {"technicians": sorted(now), "jobs": now})

        changed: dict[str, Doc] = {}
        for staff_id in sorted({*before, *now}):
            old, new = before.get(staff_id, []), now.get(staff_id, [])
            if old == new:
                continue
            kept = {_job_key(j) for j in new}
            for gone in old:
                if _job_key(gone) not in kept:
                    tx.delete("workload_jobs", _row_key(staff_id, *_job_key(gone)))
            for entry in new:
                if entry not in old:
                    tx.put(
                        "workload_jobs",
                        _row_key(staff_id, *_job_key(entry)),
                        {"staff_id": staff_id, **entry},
                    )
            changed[staff_id] = self._load(tx, staff_id)

        if isinstance(event, _LABOUR_CLOCKED_OFF):
            staff_id = str(event.technician_id)
            doc = changed.get(staff_id) or self._load(tx, staff_id)
            hours: Decimal = event.hours  # computed by the aggregate at clock-off
            day = _day(event.clocked_on_at)
            day_key = _row_key(staff_id, day)
            per_day = tx.get("workload_hours", day_key)
            tx.put(
                "workload_hours",
                day_key,
                {
                    "staff_id": staff_id,
                    "day": day,
                    "hours": _add(per_day["hours"] if per_day else None, hours),
                },
            )
            doc["clocked_hours_total"] = _add(doc["clocked_hours_total"], hours)
            job_key = _row_key(staff_id, order_id, event.job_id)
            earlier = tx.get("workload_clocked", job_key)
            tx.put(
                "workload_clocked",
                job_key,
                {
                    "staff_id": staff_id,
                    "repair_order_id": order_id,
                    "job_id": event.job_id,
                    "hours": _add(earlier["hours"] if earlier else None, hours),
                },
            )
            changed[staff_id] = doc

        for staff_id, doc in changed.items():
            doc["last_change"] = _iso(event.timestamp)
            tx.put("workload", staff_id, doc)


def _job_key(job: Doc) -> tuple[str, str]:
    return (job["repair_order_id"], job["job_id"])


def _row_key(staff_id: str, *parts: str) -> str:
    """A row's key: the staff member's id, then what the row is about. Order ids are UUIDs (one
    length), so key order is (order, job) order and day order, as the documents list them."""
    return ":".join((staff_id, *parts))


def workload_document(store: ReadModelStore, staff_id: str) -> Doc | None:
    """A technician's workload as the API serves it, or None for an unknown staff member:
    the staff row with ``assigned_jobs`` and ``clocked_jobs`` (by order, then job) and
    ``clocked_hours`` (by day) read from their rows."""
    row = store.get("workload", staff_id)
    if row is None:
        return None
    parts: Doc = {
        "assigned_jobs": [
            _without(j, "staff_id") for j in rows(store, "workload_jobs", staff_id=staff_id)
        ],
        "clocked_hours": {
            h["day"]: h["hours"] for h in rows(store, "workload_hours", staff_id=staff_id)
        },
        "clocked_jobs": [
            _without(j, "staff_id") for j in rows(store, "workload_clocked", staff_id=staff_id)
        ],
    }
    return {field: parts[field] if field in parts else row.get(field) for field in _WORKLOAD_FIELDS}


# ---------------------------------------------------------------------------------------------
# Inspection summaries
# ---------------------------------------------------------------------------------------------


class InspectionSummaries(_OperationsFolding):
    """One document per inspection: rating counts, measurements with the domain's verdicts,
    recommended jobs, who inspected, whether it was shared."""

    name = "inspection_summaries"
    version = 1
    tables = (
        TableSpec(
            "inspection_summaries",
            indexes=("vehicle_id", "repair_order_id", "status", "shared"),
        ),
    )
    cares = (Inspection,)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        view = views.inspection_view(aggregate)
        key = str(view.id)
        summary = inspection_summary(view)  # the same counts the other read models show
        previous = tx.get("inspection_summaries", key)
        measurements = view.measurements
        tx.put(
            "inspection_summaries",
            key,
            {
                "id": key,
                "version": view.version,
                "vehicle_id": str(view.vehicle_id),
                "repair_order_id": str(view.repair_order_id) if view.repair_order_id else None,
                "technician_id": str(view.technician_id),
                "template_code": view.template_code,
                "template_version": view.template_version,
                "status": summary["status"],
                "shared": summary["shared"],
                "ratings": {r.value: 0 for r in Rating} | summary["ratings"],
                "rated_items": len(view.ratings),
                "measurements": measurements,
                "measurements_passed": sum(1 for m in measurements if m.get("passed") is True),
                "measurements_failed": sum(1 for m in measurements if m.get("passed") is False),
                "measurements_flagged": sum(1 for m in measurements if m.get("flag") is not None),
                "recommended_jobs": summary["recommended_jobs"],
                "media": len(view.media),
                "started_at": previous["started_at"] if previous else _iso(event.timestamp),
                "last_change": _iso(event.timestamp),
            },
        )


# ---------------------------------------------------------------------------------------------
# Daily KPIs
# ---------------------------------------------------------------------------------------------

COUNT_FIELDS = (
    "orders_opened",
    "orders_invoiced",
    "orders_closed",
    "orders_cancelled",
    "jobs_quoted",
    "jobs_approved",
    "jobs_declined",
    "hv_jobs_completed",
)
DECIMAL_FIELDS = (
    "invoiced_subtotal",
    "invoiced_total",
    "billed_labour_hours",
    "clocked_hours",
)
Period = Literal["day", "week", "month"]


def _empty_day(day: str) -> Doc:
    doc: Doc = {"day": day}
    doc.update(dict.fromkeys(COUNT_FIELDS, 0))
    doc.update(dict.fromkeys(DECIMAL_FIELDS, "0"))
    doc["status_seconds"] = {}
    doc["status_exits"] = {}
    return doc


def _ratio(numerator: Decimal, denominator: Decimal | int, step: Decimal) -> str | None:
    if not denominator:
        return None
    return str((numerator / Decimal(denominator)).quantize(step, rounding=ROUND_HALF_UP))


def derive(doc: Doc) -> Doc:
    """The averages and rates of a day or period (None when the denominator is 0):

    * ``average_order_value`` = invoiced_total / orders_invoiced (to the cent);
    * ``quote_approval_rate`` = jobs_approved / (jobs_approved + jobs_declined);
    * ``labour_efficiency`` = billed_labour_hours / clocked_hours;
    * ``average_status_seconds[s]`` = status_seconds[s] / status_exits[s].
    """
    approved, declined = doc["jobs_approved"], doc["jobs_declined"]
    invoiced = doc["orders_invoiced"]
    average = money(Decimal(doc["invoiced_total"]) / invoiced) if invoiced else None
    return {
        "average_order_value": _money(average) if average is not None else None,
        "quote_approval_rate": _ratio(Decimal(approved), approved + declined, _RATE),
        "labour_efficiency": _ratio(
            Decimal(doc["billed_labour_hours"]), Decimal(doc["clocked_hours"]), _RATE
        ),
        "average_status_seconds": {
            status: _ratio(Decimal(seconds), doc["status_exits"].get(status, 0), _MICRO)
            for status, seconds in sorted(doc["status_seconds"].items())
        },
    }


class Kpis(_OperationsFolding):
    """Workshop KPIs per UTC day of the events: cars in, invoiced value, quote approvals, billed
    vs clocked labour, HV jobs completed, and time spent in each repair-order status.

    Days hold sums and counts (``COUNT_FIELDS``, ``DECIMAL_FIELDS``, ``status_seconds``,
    ``status_exits``) so :func:`roll_up` can add them exactly; each day also carries its own
    :func:`derive` figures. Time in a status is booked when the order leaves it, on the day it
    leaves; the helper table ``kpis_orders`` keeps each open order's status and since when.
    Counts are of events: a job declined and later approved counts once in each, and a job
    completed again after a failed quality check counts again.
    """

    name = "kpis"
    version = 1
    tables = (TableSpec("kpis_daily", indexes=("day",)), TableSpec("kpis_orders"))
    cares = (RepairOrder,)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        order = views.repair_order_view(aggregate)
        day = _day(event.timestamp)
        doc = tx.get("kpis_daily", day) or _empty_day(day)
        before = copy.deepcopy(doc)  # one day's counters: its size does not grow with history

        if isinstance(event, _OPENED):
            doc["orders_opened"] += 1
        elif isinstance(event, _QUOTE_SENT):
            doc["jobs_quoted"] += len(event.job_ids)
        elif isinstance(event, _JOB_APPROVED):
            doc["jobs_approved"] += 1
        elif isinstance(event, _JOB_DECLINED):
            doc["jobs_declined"] += 1
        elif isinstance(event, _LABOUR_CLOCKED_OFF):
            doc["clocked_hours"] = _add(doc["clocked_hours"], event.hours)
        elif isinstance(event, _JOB_COMPLETED):
            if any(j.job_id == event.job_id and j.hv_work for j in order.jobs):
                doc["hv_jobs_completed"] += 1
        elif isinstance(event, _INVOICED):
            doc["orders_invoiced"] += 1
            doc["invoiced_subtotal"] = _add(doc["invoiced_subtotal"], order.subtotal)
            doc["invoiced_total"] = _add(doc["invoiced_total"], order.total)
            labour = sum(
                (
                    Decimal(line["quantity"])
                    for line in order.invoice_lines
                    if line["kind"] == "labour"
                ),
                Decimal(0),
            )
            doc["billed_labour_hours"] = _add(doc["billed_labour_hours"], labour)

        self._status_time(order, event, doc, tx)
        if doc != before:
            doc.update(derive(doc))
            tx.put("kpis_daily", day, doc)

    @staticmethod
    def _status_time(order: views.RepairOrderView, event: Any, doc: Doc, tx: ReadModelTx) -> None:
        key = str(order.id)
        at = _utc(event.timestamp)
        tracked = None if event.originator_version == 1 else tx.get("kpis_orders", key)
        if tracked is not None and tracked["status"] == order.status:
            return
        if tracked is not None:
            left = tracked["status"]
            spent = max(_seconds(at - datetime.fromisoformat(tracked["since"])), Decimal(0))
            doc["status_seconds"] = dict(
                sorted(
                    {
                        **doc["status_seconds"],
                        left: _add(doc["status_seconds"].get(left), spent),
                    }.items()
                )
            )
            doc["status_exits"] = dict(
                sorted({**doc["status_exits"], left: doc["status_exits"].get(left, 0) + 1}.items())
            )
            if order.status == RepairOrderStatus.CLOSED.value:
                doc["orders_closed"] += 1
            elif order.status == RepairOrderStatus.CANCELLED.value:
                doc["orders_cancelled"] += 1
        if order.status in _TERMINAL:
            if tracked is not None:
                tx.delete("kpis_orders", key)
        else:
            tx.put(
                "kpis_orders",
                key,
                {"repair_order_id": key, "status": order.status, "since": at.isoformat()},
            )


def _period_key(day: date, period: Period) -> tuple[str, date, date]:
    """The period's key and its first and last calendar day."""
    if period == "day":
        return day.isoformat(), day, day
    if period == "week":
        year, week, weekday = day.isocalendar()
        start = day - timedelta(days=weekday - 1)
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return f"{day.year:04d}-{day.month:02d}", start, following - timedelta(days=1)


def roll_up(days: Iterable[Doc], period: Period) -> list[Doc]:
    """Adds daily KPI documents into days, ISO weeks (``YYYY-Www``) or months (``YYYY-MM``).

    Only the stored sums and counts are added; averages and rates are derived again from the
    totals (so a week's approval rate is not an average of daily rates). Ordered by period.
    """
    if period not in ("day", "week", "month"):
        raise ValueError(f"period must be day, week or month, not {period!r}")
    totals: dict[str, Doc] = {}
    for day_doc in days:
        key, start, end = _period_key(date.fromisoformat(day_doc["day"]), period)
        doc = totals.get(key)
        if doc is None:
            doc = totals[key] = {
                "period": period,
                "key": key,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "days": 0,
                **_empty_day(start.isoformat()),
            }
            del doc["day"]
        doc["days"] += 1
        for field in COUNT_FIELDS:
            doc[field] += int(day_doc.get(field, 0))
        for field in DECIMAL_FIELDS:
            doc[field] = _add(doc[field], Decimal(day_doc.get(field, "0")))
        for status, seconds in day_doc.get("status_seconds", {}).items():
            doc["status_seconds"][status] = _add(
                doc["status_seconds"].get(status), Decimal(seconds)
            )
        for status, exits in day_doc.get("status_exits", {}).items():
            doc["status_exits"][status] = doc["status_exits"].get(status, 0) + int(exits)
    result = []
    for key in sorted(totals):
        doc = totals[key]
        doc["status_seconds"] = dict(sorted(doc["status_seconds"].items()))
        doc["status_exits"] = dict(sorted(doc["status_exits"].items()))
        doc.update(derive(doc))
        result.append(doc)
    return result


def operations_projections(load: Load) -> list[Any]:
    """The operations read models, each with its own fold cache."""
    return [TechnicianWorkload(load), InspectionSummaries(load), Kpis(load)]


__all__ = [
    "COUNT_FIELDS",
    "DECIMAL_FIELDS",
    "InspectionSummaries",
    "Kpis",
    "Period",
    "TechnicianWorkload",
    "derive",
    "operations_projections",
    "roll_up",
    "workload_document",
]
