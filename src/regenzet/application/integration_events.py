"""Public integration events: the versioned contract integrators subscribe to on SNS.

The mapping from domain events is explicit (one function per published type) and shields
integrators from internal class names. Messages carry ids, amounts, states and times — never
names, emails, phones, plates, VINs, free text or IP addresses (DESIGN §4). Each payload is a
msgspec struct, so its JSON Schema is generated from the code that builds it; the committed
schema files (``integration_schemas/``) are checked against the generated ones in the tests,
and docs/integration-events.md lists them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Final, Literal, TypeVar

import attrs
import msgspec

from regenzet.application.aggregates import aggregate_of
from regenzet.application.dispatch import EventHandlers
from regenzet.application.read_models import AggregateFolder, Load
from regenzet.domain.inspection import Inspection, Rating
from regenzet.domain.repair_order import RepairOrder
from regenzet.domain.vehicle import Vehicle

ENVELOPE_FORMAT: Final = "regenzet-integration-event/1"
# Stable event ids: the same stored event always gets the same id (FIFO dedup, consumers).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-4c59-9a53-2b0c6a1f7e41")

# Decimal amounts as strings ("389.00", never floats), ids as UUID strings, times as ISO 8601.
Money = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]
Id = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class Envelope(msgspec.Struct, kw_only=True):
    format: Literal["regenzet-integration-event/1"]
    event_id: Id
    event_type: str
    aggregate_type: str
    aggregate_id: Id
    version: int
    occurred_at: Time


# ---------------------------------------------------------------------------------------------
# Payloads (one per published event type)
# ---------------------------------------------------------------------------------------------


class RepairOrderOpened(msgspec.Struct, kw_only=True):
    vehicle_id: Id
    customer_id: Id
    odometer_in_km: int
    soc_in_pct: Money | None
    promised_at: Time | None
    currency: str


class QuoteSent(msgspec.Struct, kw_only=True):
    quote_version: int
    job_ids: list[str]
    subtotal: Money
    total: Money
    currency: str


class JobApproved(msgspec.Struct, kw_only=True):
    job_id: str
    quote_version: int
    channel: str
    approved_at: Time


class JobDeclined(msgspec.Struct, kw_only=True):
    job_id: str
    quote_version: int
    channel: str
    declined_at: Time


class HvIsolated(msgspec.Struct, kw_only=True):
    technician_id: Id
    technician_hv_level: int
    residual_voltage_v: Money
    ppe_checked: bool
    isolated_at: Time


class HvRestored(msgspec.Struct, kw_only=True):
    technician_id: Id
    restored_at: Time


class JobCompleted(msgspec.Struct, kw_only=True):
    job_id: str
    hv_work: bool


class Invoiced(msgspec.Struct, kw_only=True):
    invoice_number: str
    subtotal: Money
    tax_rate: Money
    tax: Money
    total: Money
    currency: str
    invoiced_at: Time


class PaymentRecorded(msgspec.Struct, kw_only=True):
    amount: Money
    method: str
    paid_total: Money
    balance: Money
    currency: str
    paid_at: Time


class Released(msgspec.Struct, kw_only=True):
    odometer_out_km: int
    soc_out_pct: Money | None
    released_at: Time


class Cancelled(msgspec.Struct, kw_only=True):
    cancelled_at: Time


class RatingCounts(msgspec.Struct, kw_only=True):
    green: int
    amber: int
    red: int


class InspectionCompleted(msgspec.Struct, kw_only=True):
    vehicle_id: Id
    repair_order_id: Id | None
    template_code: str
    ratings: RatingCounts
    recommended_jobs: int


class InspectionShared(msgspec.Struct, kw_only=True):
    vehicle_id: Id
    repair_order_id: Id | None


class VehicleRegistered(msgspec.Struct, kw_only=True):
    owner_id: Id
    make: str
    model: str
    year: int
    battery_kwh: Money
    nominal_voltage_v: Money


class BatteryHealthRecorded(msgspec.Struct, kw_only=True):
    soh_pct: Money
    soc_pct: Money | None
    method: str
    inspection_id: Id | None
    measured_at: Time


# (event type, aggregate type, payload struct, one-line description) — the public catalogue.
CATALOGUE: list[tuple[str, str, type[msgspec.Struct], str]] = [
    (
        "repair_order.opened.v1",
        "repair_order",
        RepairOrderOpened,
        "A vehicle was received and a repair order opened.",
    ),
    (
        "repair_order.quote_sent.v1",
        "repair_order",
        QuoteSent,
        "A quote was sent to the owner for approval, job by job.",
    ),
    (
        "repair_order.job_approved.v1",
        "repair_order",
        JobApproved,
        "The owner approved one quoted job.",
    ),
    (
        "repair_order.job_declined.v1",
        "repair_order",
        JobDeclined,
        "The owner declined one quoted job.",
    ),
    (
        "repair_order.hv_isolated.v1",
        "repair_order",
        HvIsolated,
        "The high-voltage system was made safe (isolated, residual voltage measured).",
    ),
    (
        "repair_order.hv_restored.v1",
        "repair_order",
        HvRestored,
        "The high-voltage system was put back into service.",
    ),
    (
        "repair_order.job_completed.v1",
        "repair_order",
        JobCompleted,
        "A technician completed a job.",
    ),
    ("repair_order.invoiced.v1", "repair_order", Invoiced, "The order was invoiced."),
    (
        "repair_order.payment_recorded.v1",
        "repair_order",
        PaymentRecorded,
        'A payment was recorded (paid in full when balance is "0.00").',
    ),
    (
        "repair_order.released.v1",
        "repair_order",
        Released,
        "The vehicle was handed back to the owner.",
    ),
    ("repair_order.cancelled.v1", "repair_order", Cancelled, "The order was cancelled."),
    ("inspection.completed.v1", "inspection", InspectionCompleted, "An inspection was completed."),
    (
        "inspection.shared.v1",
        "inspection",
        InspectionShared,
        "An inspection report was shared with the owner.",
    ),
    (
        "vehicle.registered.v1",
        "vehicle",
        VehicleRegistered,
        "A vehicle was registered to an owner.",
    ),
    (
        "vehicle.battery_health_recorded.v1",
        "vehicle",
        BatteryHealthRecorded,
        "A battery state-of-health reading was recorded.",
    ),
]

PAYLOADS = {event_type: payload for event_type, _, payload, _ in CATALOGUE}


@attrs.frozen
class IntegrationMessage:
    """One integration event ready to publish: the JSON body and the message attributes."""

    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    version: int
    body: dict[str, Any]

    def attributes(self) -> dict[str, str]:
        return {
            "event_type": self.event_type,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "event_id": self.event_id,
            "version": str(self.version),
        }

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"), sort_keys=True)


def event_id_of(aggregate_id: uuid.UUID, version: int) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> Money | None:
    return None if value is None else str(value)


def _s(value: Any) -> str:
    return str(value)


E = TypeVar("E")

# Keyed by the domain event classes (ADR 0032): a renamed event fails at import and in mypy,
# and mypy checks each builder against the event it is registered for. A builder gets the
# event and its aggregate folded up to and including it.
_PAYLOADS: EventHandlers[msgspec.Struct] = EventHandlers()
_EVENT_TYPES: dict[type[Any], str] = {}


def _publish(cls: type[E], event_type: str, build: Callable[[E, Any], msgspec.Struct]) -> None:
    _PAYLOADS.on(cls, build)
    _EVENT_TYPES[cls] = event_type


_publish(
    RepairOrder.Opened,
    "repair_order.opened.v1",
    lambda e, o: RepairOrderOpened(
        vehicle_id=_s(e.vehicle_id),
        customer_id=_s(e.customer_id),
        odometer_in_km=e.odometer_in_km,
        soc_in_pct=_money(e.soc_in_pct),
        promised_at=_iso(e.promised_at),
        currency=e.currency,
    ),
)
_publish(
    RepairOrder.QuoteSent,
    "repair_order.quote_sent.v1",
    lambda e, o: QuoteSent(
        quote_version=e.quote_version,
        job_ids=list(e.job_ids),
        subtotal=_s(e.subtotal),
        total=_s(e.total),
        currency=o.currency,
    ),
)
_publish(
    RepairOrder.JobApproved,
    "repair_order.job_approved.v1",
    lambda e, o: JobApproved(
        job_id=e.job_id,
        quote_version=e.quote_version,
        channel=e.channel.value,
        approved_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.JobDeclined,
    "repair_order.job_declined.v1",
    lambda e, o: JobDeclined(
        job_id=e.job_id,
        quote_version=e.quote_version,
        channel=e.channel.value,
        declined_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.HighVoltageIsolated,
    "repair_order.hv_isolated.v1",
    lambda e, o: HvIsolated(
        technician_id=_s(e.technician_id),
        technician_hv_level=int(e.technician_hv_level),
        residual_voltage_v=_s(e.residual_voltage_v),
        ppe_checked=e.ppe_checked,
        isolated_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.HighVoltageRestored,
    "repair_order.hv_restored.v1",
    lambda e, o: HvRestored(technician_id=_s(e.technician_id), restored_at=e.at.isoformat()),
)
_publish(
    RepairOrder.JobCompleted,
    "repair_order.job_completed.v1",
    lambda e, o: JobCompleted(job_id=e.job_id, hv_work=bool(o.jobs[e.job_id].hv_work)),
)
_publish(
    RepairOrder.Invoiced,
    "repair_order.invoiced.v1",
    lambda e, o: Invoiced(
        invoice_number=e.invoice_number,
        subtotal=_s(e.subtotal),
        tax_rate=_s(e.tax_rate),
        tax=_s(e.tax),
        total=_s(e.total),
        currency=o.currency,
        invoiced_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.PaymentRecorded,
    "repair_order.payment_recorded.v1",
    lambda e, o: PaymentRecorded(
        amount=_s(e.amount),
        method=e.method.value,
        paid_total=_s(o.paid),
        balance=_s(o.balance),
        currency=o.currency,
        paid_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.Released,
    "repair_order.released.v1",
    lambda e, o: Released(
        odometer_out_km=e.odometer_out_km,
        soc_out_pct=_money(e.soc_out_pct),
        released_at=e.at.isoformat(),
    ),
)
_publish(
    RepairOrder.Cancelled,
    "repair_order.cancelled.v1",
    lambda e, o: Cancelled(cancelled_at=e.timestamp.isoformat()),
)


def _ratings(inspection: Any) -> RatingCounts:
    counts = dict.fromkeys(Rating, 0)
    for rated in inspection.ratings.values():
        counts[Rating(rated["rating"])] += 1
    return RatingCounts(
        green=counts[Rating.GREEN], amber=counts[Rating.AMBER], red=counts[Rating.RED]
    )


_publish(
    Inspection.Completed,
    "inspection.completed.v1",
    lambda e, i: InspectionCompleted(
        vehicle_id=_s(i.vehicle_id),
        repair_order_id=None if i.repair_order_id is None else _s(i.repair_order_id),
        template_code=i.template_code,
        ratings=_ratings(i),
        recommended_jobs=len(i.recommended_jobs()),
    ),
)
_publish(
    Inspection.SharedWithCustomer,
    "inspection.shared.v1",
    lambda e, i: InspectionShared(
        vehicle_id=_s(i.vehicle_id),
        repair_order_id=None if i.repair_order_id is None else _s(i.repair_order_id),
    ),
)

_publish(
    Vehicle.Registered,
    "vehicle.registered.v1",
    lambda e, v: VehicleRegistered(
        owner_id=_s(e.owner_id),
        make=e.make,
        model=e.model,
        year=e.year,
        battery_kwh=_s(e.battery_kwh),
        nominal_voltage_v=_s(e.nominal_voltage_v),
    ),
)
_publish(
    Vehicle.BatteryHealthRecorded,
    "vehicle.battery_health_recorded.v1",
    lambda e, v: BatteryHealthRecorded(
        soh_pct=_s(e.soh_pct),
        soc_pct=_money(e.soc_pct),
        method=e.method.value,
        inspection_id=None if e.inspection_id is None else _s(e.inspection_id),
        measured_at=e.measured_at.isoformat(),
    ),
)

# Every event of these aggregates is folded, so a payload sees its aggregate whole.
_FOLDED = (RepairOrder, Inspection, Vehicle)


def published_types() -> dict[type[Any], str]:
    """Each domain event class that is published, with its integration event type."""
    return dict(_EVENT_TYPES)


class IntegrationEventMapper:
    """Domain events → integration messages, folding aggregates for the context a payload
    needs (the order's currency and balance, the inspection's vehicle) at that event."""

    def __init__(self, load: Load) -> None:
        self.folder = AggregateFolder(load)

    def forget(self) -> None:
        self.folder.forget()

    def map(self, event: Any) -> IntegrationMessage | None:
        found = aggregate_of(event)
        if found is None or found.cls not in _FOLDED:
            return None
        aggregate = self.folder.fold(event)  # every event of these aggregates keeps the fold whole
        build = _PAYLOADS.handler(event)
        if build is None:
            return None
        event_type = _EVENT_TYPES[type(event)]
        aggregate_type = found.public
        payload = build(event, aggregate)
        event_id = event_id_of(event.originator_id, event.originator_version)
        envelope = Envelope(
            format=ENVELOPE_FORMAT,
            event_id=event_id,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=str(event.originator_id),
            version=event.originator_version,
            occurred_at=event.timestamp.isoformat(),
        )
        body = msgspec.to_builtins(envelope) | {"data": msgspec.to_builtins(payload)}
        return IntegrationMessage(
            event_id=event_id,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=str(event.originator_id),
            version=event.originator_version,
            body=body,
        )


def json_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a whole message body of this type, generated from code."""
    payload = PAYLOADS[event_type]
    _, components = msgspec.json.schema_components([Envelope, payload])
    envelope = components["Envelope"]
    description = next(d for t, _, _, d in CATALOGUE if t == event_type)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://regenzet.dev/schemas/integration/{event_type}.json",
        "title": event_type,
        "description": description,
        "type": "object",
        "properties": {
            **envelope["properties"],
            "event_type": {"const": event_type},
            "aggregate_type": {"const": event_type.partition(".")[0]},
            "data": {"$ref": f"#/$defs/{payload.__name__}"},
        },
        "required": [*envelope["required"], "data"],
        "additionalProperties": False,
        "$defs": {
            name: _close(component) for name, component in components.items() if name != "Envelope"
        },
    }


def _close(component: dict[str, Any]) -> dict[str, Any]:
    """Payloads admit no extra fields: integrators can rely on what is there."""
    if component.get("type") == "object":
        return {**component, "additionalProperties": False}
    return component


def committed_schema(event_type: str) -> dict[str, Any]:
    """The schema file shipped in the package (what docs and integrators use)."""
    path = resources.files("regenzet.application") / "integration_schemas" / f"{event_type}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


__all__ = [
    "CATALOGUE",
    "ENVELOPE_FORMAT",
    "IntegrationEventMapper",
    "IntegrationMessage",
    "committed_schema",
    "event_id_of",
    "json_schema",
    "published_types",
]
