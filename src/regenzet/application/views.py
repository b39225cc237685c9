"""Read DTOs returned by queries. Built from aggregates here so nothing outside the
application ever holds (or mutates) an aggregate."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import attrs

from regenzet.application.aggregates import aggregate_of
from regenzet.domain.common import Actor
from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection
from regenzet.domain.media import MediaAttachment, Shape
from regenzet.domain.repair_order import RepairOrder
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import Vehicle


def plain(value: Any) -> Any:
    """Renders domain values as JSON-native data (enums by value, decimals as strings)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if attrs.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@attrs.frozen
class HistoryEntry:
    aggregate_id: UUID
    aggregate_type: str
    version: int
    timestamp: datetime
    event_type: str
    actor: Actor | None
    data: dict[str, Any]


_EVENT_HEADER = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor"}


def history_entry(event: Any) -> HistoryEntry:
    # The aggregate from the registry, by class (ADR 0032); the names are the classes' names,
    # as in the stored topics.
    found = aggregate_of(event)
    aggregate_type = found.name if found is not None else _enclosing_class_name(event)
    event_type = type(event).__name__
    data = {k: plain(v) for k, v in vars(event).items() if k not in _EVENT_HEADER}
    return HistoryEntry(
        aggregate_id=event.originator_id,
        aggregate_type=aggregate_type,
        version=event.originator_version,
        timestamp=event.timestamp,
        event_type=event_type,
        actor=getattr(event, "actor", None),
        data=data,
    )


def _enclosing_class_name(event: Any) -> str:
    """For an event of an aggregate not in the registry (none is stored; the registry test
    checks the domain's inventory): the class it is nested in, as before."""
    return type(event).__qualname__.rpartition(".")[0]


@attrs.frozen
class CustomerView:
    id: UUID
    version: int
    name: str
    email: str
    phone: str | None
    preferences: dict[str, Any]


def customer_view(c: Customer) -> CustomerView:
    return CustomerView(c.id, c.version, c.name, c.email, c.phone, plain(c.preferences))


@attrs.frozen
class StaffView:
    id: UUID
    version: int
    name: str
    email: str
    role: str
    active: bool
    hv_level: int
    effective_hv_level: int
    certificate_id: str | None
    certificate_expires_on: date | None
    clocked_on: dict[str, str] | None


def staff_view(s: StaffMember, today: date) -> StaffView:
    q = s.qualification
    return StaffView(
        s.id,
        s.version,
        s.name,
        s.email,
        s.role.value,
        s.active,
        q.level if q else 0,
        int(s.effective_hv_level(today)),
        q.certificate_id if q else None,
        q.expires_on if q else None,
        dict(s.clocked_on) if s.clocked_on else None,
    )


@attrs.frozen
class VehicleView:
    id: UUID
    version: int
    vin: str
    plate: str
    make: str
    model: str
    year: int
    battery_kwh: Decimal
    nominal_voltage_v: Decimal
    owner_id: UUID
    odometer_km: int
    manufacturer: str
    region: str | None
    country: str | None
    battery_health: list[dict[str, Any]]
    software: dict[str, str]
    warranty: dict[str, Any] | None
    under_warranty: bool
    warranty_risk: bool


def vehicle_view(v: Vehicle, today: date) -> VehicleView:
    return VehicleView(
        v.id,
        v.version,
        v.vin,
        v.plate,
        v.make,
        v.model,
        v.year,
        v.battery_kwh,
        v.nominal_voltage_v,
        v.owner_id,
        v.odometer_km,
        v.facts.manufacturer,
        v.facts.region,
        v.facts.country,
        plain(v.battery_health),
        dict(v.software),
        plain(v.warranty) if v.warranty else None,
        v.under_warranty(today),
        v.warranty_risk(today),
    )


@attrs.frozen
class JobView:
    job_id: str
    title: str
    status: str
    hv_work: bool
    required_hv_level: int
    amount: Decimal
    labour: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    assigned: list[str]
    clocked_hours: Decimal
    quoted_in: int | None
    approved_by: dict[str, Any] | None
    approval_channel: str | None
    declined_reason: str | None
    # Who decided, when and how, for a declined job as for an approved one (issue 11 item 13).
    approved_at: datetime | None = None
    declined_by: dict[str, Any] | None = None
    declined_at: datetime | None = None
    declined_channel: str | None = None


@attrs.frozen
class RepairOrderView:
    id: UUID
    version: int
    status: str
    vehicle_id: UUID
    customer_id: UUID
    concerns: list[str]
    odometer_in_km: int
    soc_in_pct: Decimal | None
    promised_at: datetime | None
    currency: str
    inspection_ids: list[str]
    jobs: list[JobView]
    quote_version: int
    quoted_subtotal: Decimal
    hv_isolated: bool
    isolation: dict[str, Any] | None
    clocked_on: dict[str, str]
    clocked_hours: dict[str, Decimal]
    outstanding_part_requests: list[str]
    qc_passed: bool
    invoice_number: str | None
    invoice_lines: list[dict[str, Any]]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    balance: Decimal
    released: bool
    odometer_out_km: int | None
    cancel_reason: str | None


def repair_order_view(o: RepairOrder) -> RepairOrderView:
    jobs = [
        JobView(
            job_id=j.job_id,
            title=j.title,
            status=j.status.value,
            hv_work=j.hv_work,
            required_hv_level=j.required_hv_level,
            amount=j.amount,
            labour=plain(j.labour),
            parts=plain(j.parts),
            assigned=list(j.assigned),
            clocked_hours=j.clocked_hours,
            quoted_in=j.quoted_in,
            approved_by=plain(j.approved_by),
            approval_channel=j.approval_channel.value if j.approval_channel else None,
            declined_reason=j.declined_reason,
            approved_at=j.approved_at,
            declined_by=plain(j.declined_by),
            declined_at=j.declined_at,
            declined_channel=j.declined_channel.value if j.declined_channel else None,
        )
        for j in o.jobs.values()
    ]
    return RepairOrderView(
        id=o.id,
        version=o.version,
        status=o.status.value,
        vehicle_id=o.vehicle_id,
        customer_id=o.customer_id,
        concerns=list(o.concerns),
        odometer_in_km=o.odometer_in_km,
        soc_in_pct=o.soc_in_pct,
        promised_at=o.promised_at,
        currency=o.currency,
        inspection_ids=list(o.inspection_ids),
        jobs=jobs,
        quote_version=o.quote_version,
        quoted_subtotal=o.quote_totals(),
        hv_isolated=o.hv_isolated,
        isolation=plain(o.isolation),
        clocked_on=dict(o.clocked_on),
        clocked_hours=o.clocked_hours_by_job(),
        outstanding_part_requests=list(o.outstanding_part_requests),
        qc_passed=o.qc_passed,
        invoice_number=o.invoice_number,
        invoice_lines=plain(o.invoice_lines),
        subtotal=o.subtotal,
        tax=o.tax,
        total=o.total,
        paid=o.paid,
        balance=o.balance,
        released=o.released,
        odometer_out_km=o.odometer_out_km,
        cancel_reason=o.cancel_reason,
    )


@attrs.frozen
class InspectionView:
    id: UUID
    version: int
    vehicle_id: UUID
    repair_order_id: UUID | None
    technician_id: UUID
    template_code: str
    template_version: int
    status: str
    shared: bool
    ratings: dict[str, dict[str, Any]]
    measurements: list[dict[str, Any]]
    media: list[dict[str, Any]]
    recommended_jobs: list[dict[str, Any]]


def inspection_view(i: Inspection) -> InspectionView:
    return InspectionView(
        id=i.id,
        version=i.version,
        vehicle_id=i.vehicle_id,
        repair_order_id=i.repair_order_id,
        technician_id=i.technician_id,
        template_code=i.template_code,
        template_version=i.template_version,
        status=i.status,
        shared=i.shared,
        ratings=plain(i.ratings),
        measurements=plain(i.measurements),
        media=[attached_media(m) for m in i.media],
        recommended_jobs=plain(i.recommended_jobs()),
    )


def attached_media(m: MediaAttachment) -> dict[str, Any]:
    """An attached photo or video as the inspection view lists it: its facts, never a URL
    (those are minted per request by the media routes)."""
    return {
        "media_id": str(m.media_id),
        "item_code": m.item_code,
        "file_name": m.file_name,
        "content_type": m.content_type,
        "size_bytes": m.size_bytes,
        "sha256": m.sha256,
        "width": m.width,
        "height": m.height,
        "duration_s": None if m.duration_s is None else float(m.duration_s),
        "attached_at": m.attached_at.isoformat() if m.attached_at else None,
        "attached_by": m.attached_by.subject_id if m.attached_by else None,
        "annotations": [dict(shape) for shape in m.annotations],
    }


@attrs.frozen
class MediaView:
    """One attached photo or video for one caller: its facts, its latest markup, and URLs
    minted for this request (null for the auditor, and for a video's pictures)."""

    media_id: UUID
    item_code: str | None
    file_name: str | None
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    attached_at: datetime
    attached_by: str
    annotations: list[Shape]
    annotated_at: datetime | None
    thumbnail_url: str | None
    preview_url: str | None
    download_url: str | None
    urls_expire_at: datetime | None


@attrs.frozen
class MediaList:
    items: list[MediaView]


def media_view(
    m: MediaAttachment,
    thumbnail_url: str | None,
    preview_url: str | None,
    download_url: str | None,
    urls_expire_at: datetime | None,
) -> MediaView:
    return MediaView(
        media_id=m.media_id,
        item_code=m.item_code,
        file_name=m.file_name,
        content_type=m.content_type,
        size_bytes=m.size_bytes,
        sha256=m.sha256,
        width=m.width,
        height=m.height,
        duration_s=None if m.duration_s is None else float(m.duration_s),
        # Both are set as the event is applied (its time and actor), old events included.
        attached_at=m.attached_at or _never(),
        attached_by=m.attached_by.subject_id if m.attached_by else "unknown",
        annotations=[Shape(**s) for s in m.annotations],
        annotated_at=m.annotated_at,
        thumbnail_url=thumbnail_url,
        preview_url=preview_url,
        download_url=download_url,
        urls_expire_at=urls_expire_at,
    )


def _never() -> datetime:
    raise AssertionError("an attached medium always has its event's time")
