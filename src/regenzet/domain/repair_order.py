"""The repair order: from the customer's concerns to a paid, released car.

This is where the garage's promises are kept. The aggregate decides (never the client):

* which jobs may be worked on — only approved ones; declined jobs never reach the invoice;
* whether high-voltage work may start — only under a current isolation (residual voltage below
  60 V DC, recorded by a technician of HV level 2 or more) and by a technician holding the job's
  required level;
* how long labour took — computed from clock-on and clock-off times, never typed;
* what the customer owes — invoice lines, tax and total are computed here from completed jobs;
* when the order may close — fully paid *and* released, and release needs HV restored.

States: ``open → inspecting → quoting → awaiting_approval → in_progress ⇄ waiting_for_parts →
quality_check → ready_for_pickup → closed``, and ``cancelled`` from anywhere before invoicing.
Every command outside that machine raises ``InvalidStateError`` naming the current state.

Pattern (STYLE.md): a public command validates and decides; a private ``@event`` method records
the fact and only mutates state, so replaying events can never be refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import (
    Actor,
    InvalidStateError,
    canonical_copy,
    check_aware,
    check_canonical_decimal,
    check_currency,
    check_decimal,
    check_decimal_range,
    check_text,
    fail,
    money,
    violate,
)
from regenzet.domain.media import (
    PHOTO_CONTENT_TYPES,
    MediaAttachment,
    MediaUpload,
    check_content_type,
    check_dimension,
    check_file_name,
    check_key,
    check_new_media,
    check_sha256,
    check_size,
    waiting_upload,
)

# ---------------------------------------------------------------------------------------------
# Enums and constants
# ---------------------------------------------------------------------------------------------


class RepairOrderStatus(Enum):
    OPEN = "open"
    INSPECTING = "inspecting"
    QUOTING = "quoting"
    AWAITING_APPROVAL = "awaiting_approval"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_PARTS = "waiting_for_parts"
    QUALITY_CHECK = "quality_check"
    READY_FOR_PICKUP = "ready_for_pickup"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class JobStatus(Enum):
    PROPOSED = "proposed"
    QUOTED = "quoted"
    APPROVED = "approved"
    DECLINED = "declined"
    COMPLETED = "completed"


class ApprovalChannel(Enum):
    PORTAL = "portal"
    PHONE = "phone"
    IN_PERSON = "in_person"
    EMAIL = "email"
    # The signed approval link in the quote email (no login): see ADR 0016.
    EMAIL_LINK = "email_link"


class PaymentMethod(Enum):
    CARD = "card"
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    ACCOUNT = "account"


# Below 60 V DC a traction system counts as de-energised (ISO 6469-3 / UN ECE R100 class A).
HV_SAFE_RESIDUAL_VOLTAGE = Decimal("60")
# Level 2 is the industry ladder's "HV-safe isolation and non-live work".
MIN_ISOLATION_LEVEL = 2
# Level 3 is "HV component repair / live work", the default for any job flagged hv_work.
DEFAULT_HV_REPAIR_LEVEL = 3
MAX_HV_LEVEL = 3
# A voltmeter on an 800 V platform reads at most ~1000 V; anything above is a typo.
MAX_RESIDUAL_VOLTAGE = Decimal("1000")
MAX_ODOMETER_KM = 2_000_000
MAX_LINES_PER_JOB = 100
# The largest order subtotal whose total with tax (at most 100 %) still fits the canonical
# decimal format's 12 digits before the point (ADR 0013): QuoteSent and Invoiced carry them.
MAX_ORDER_SUBTOTAL = Decimal("499999999999.99")

_S = RepairOrderStatus
# Where jobs may still change: after quality_check starts the work is frozen, and after
# invoicing nothing about jobs may change at all (the invoice is a snapshot of them).
_JOB_EDITING = (
    _S.OPEN,
    _S.INSPECTING,
    _S.QUOTING,
    _S.AWAITING_APPROVAL,
    _S.IN_PROGRESS,
    _S.WAITING_FOR_PARTS,
)
_QUOTING = (_S.QUOTING, _S.AWAITING_APPROVAL, _S.IN_PROGRESS, _S.WAITING_FOR_PARTS)
_DECIDING = (_S.AWAITING_APPROVAL, _S.IN_PROGRESS, _S.WAITING_FOR_PARTS)
_WORKING = (_S.IN_PROGRESS, _S.WAITING_FOR_PARTS)
_ISOLATING = (
    _S.INSPECTING,
    _S.QUOTING,
    _S.AWAITING_APPROVAL,
    _S.IN_PROGRESS,
    _S.WAITING_FOR_PARTS,
    _S.QUALITY_CHECK,
)
# Restoring must stay possible after invoicing: release is refused until HV is restored.
_RESTORING = (*_ISOLATING, _S.READY_FOR_PICKUP)
_CANCELLABLE = (*_JOB_EDITING, _S.QUALITY_CHECK)
_FINISHED = (_S.CLOSED, _S.CANCELLED)

# The rule id a client sees when HV is still isolated at quality check or invoice.
HV_RESTORED_BEFORE_READY = "hv_restored_before_ready"

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ZERO = Decimal("0.00")
_SECONDS_PER_HOUR = Decimal(3600)

_E = TypeVar("_E", bound=Enum)


# ---------------------------------------------------------------------------------------------
# Input checks (malformed input is a DomainValidationError, raised before any event)
# ---------------------------------------------------------------------------------------------


def _member(enum: type[_E], value: Any, field: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        fail(field, f"must be one of {allowed}")


def _check_int(field: str, value: Any, *, minimum: int, maximum: int) -> int:
    # bool is an int subclass; True as an odometer reading is a bug, not a reading.
    if not isinstance(value, int) or isinstance(value, bool):
        fail(field, "must be a whole number")
    if not minimum <= value <= maximum:
        fail(field, f"must be between {minimum} and {maximum}")
    # int() drops IntEnum-ness (e.g. staff.HvLevel) so state and stored events have one type.
    return int(value)


def _check_level(field: str, value: Any) -> int:
    return _check_int(field, value, minimum=0, maximum=MAX_HV_LEVEL)


def _check_at(field: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        fail(field, "must be a date and time")
    return check_aware(field, value)


def _check_uuid(field: str, value: Any) -> UUID:
    if not isinstance(value, UUID):
        fail(field, "must be a UUID")
    return value


def _check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        fail(field, "must be true or false")
    return value


def _optional_text(field: str, value: str | None, max_length: int) -> str | None:
    if value is None:
        return None
    return check_text(field, value, max_length=max_length, required=False) or None


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        fail("job_id", "must be 1-64 letters, digits, '.', '_' or '-'")
    return job_id


def _check_positive(field: str, value: Decimal, maximum: Decimal) -> None:
    check_decimal_range(field, value, minimum=Decimal(0), maximum=maximum)
    if value == 0:
        fail(field, "must be more than 0")


# ---------------------------------------------------------------------------------------------
# Value objects. They validate themselves so an invalid line cannot exist in memory. They are
# also rebuilt from stored events, so they check ranges only; the commands that record a new
# line refuse non-canonical decimals (``_check_canonical_lines``).
# ---------------------------------------------------------------------------------------------


def _check_canonical_lines(field: str, lines: Sequence[Any], names: tuple[str, ...]) -> None:
    """New lines carry canonical decimals only; the field names the line as the client does
    (``labour[1].hours``)."""
    for index, line in enumerate(lines):
        for name in names:
            check_canonical_decimal(f"{field}[{index}].{name}", getattr(line, name))


@attrs.frozen
class LabourLine:
    """Quoted labour: hours x hourly rate (the price the customer approves)."""

    description: str
    hours: Decimal
    rate: Decimal

    def __attrs_post_init__(self) -> None:
        check_text("labour.description", self.description)
        _check_positive("labour.hours", self.hours, Decimal(200))
        check_decimal_range("labour.rate", self.rate, minimum=Decimal(0), maximum=Decimal(10_000))

    @property
    def amount(self) -> Decimal:
        return money(self.hours * self.rate)


@attrs.frozen
class PartLine:
    """A quoted part: quantity x unit price."""

    part_number: str
    description: str
    quantity: Decimal
    unit_price: Decimal

    def __attrs_post_init__(self) -> None:
        check_text("part.part_number", self.part_number, max_length=40)
        check_text("part.description", self.description)
        _check_positive("part.quantity", self.quantity, Decimal(10_000))
        check_decimal_range(
            "part.unit_price", self.unit_price, minimum=Decimal(0), maximum=Decimal(1_000_000)
        )

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@attrs.frozen
class InvoiceLine:
    """One line of the invoice snapshot. Only ever built by the aggregate, from a completed job."""

    job_id: str
    kind: str  # "labour" or "part"
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@attrs.frozen
class PartRequestLine:
    """A part the workshop asks the stores (or a supplier) for."""

    part_number: str
    description: str
    quantity: Decimal

    def __attrs_post_init__(self) -> None:
        check_text("part_request.part_number", self.part_number, max_length=40)
        check_text("part_request.description", self.description)
        _check_positive("part_request.quantity", self.quantity, Decimal(10_000))


@attrs.define
class Job:
    """A job's mutable state inside the order (kept in snapshots, never carried by events)."""

    job_id: str
    title: str
    labour: list[LabourLine]
    parts: list[PartLine]
    hv_work: bool
    required_hv_level: int
    status: JobStatus = JobStatus.PROPOSED
    assigned: list[str] = attrs.Factory(list)
    clocked_hours: Decimal = _ZERO
    quoted_in: int | None = None
    approved_by: Actor | None = None
    approved_at: datetime | None = None
    approval_channel: ApprovalChannel | None = None
    declined_by: Actor | None = None
    declined_at: datetime | None = None
    declined_reason: str | None = None
    declined_channel: ApprovalChannel | None = None

    @property
    def amount(self) -> Decimal:
        """The job's price before tax (labour and parts as quoted)."""
        labour = sum((line.amount for line in self.labour), _ZERO)
        return labour + sum((line.amount for line in self.parts), _ZERO)

    def invoice_lines(self) -> list[InvoiceLine]:
        # The quoted lines may predate the canonical rule (ADR 0013): the Invoiced event
        # copies their decimals canonically (the amounts are computed from the exact values).
        lines = [
            InvoiceLine(
                self.job_id,
                "labour",
                line.description,
                canonical_copy(line.hours),
                canonical_copy(line.rate),
                line.amount,
            )
            for line in self.labour
        ]
        lines += [
            InvoiceLine(
                self.job_id,
                "part",
                f"{line.description} ({line.part_number})",
                canonical_copy(line.quantity),
                canonical_copy(line.unit_price),
                line.amount,
            )
            for line in self.parts
        ]
        return lines


# ---------------------------------------------------------------------------------------------
# The aggregate
# ---------------------------------------------------------------------------------------------


class RepairOrder(Aggregate):
    """One visit of one vehicle: jobs, approvals, HV safety, labour, parts, invoice, payment."""

    @classmethod
    def open(
        cls,
        *,
        vehicle_id: UUID,
        customer_id: UUID,
        concerns: list[str],
        odometer_in_km: int,
        soc_in_pct: Decimal | None,
        promised_at: datetime | None,
        currency: str,
        actor: Actor,
        id: UUID | None = None,  # the library's keyword for a chosen aggregate id
    ) -> RepairOrder:
        if not isinstance(concerns, list) or not concerns or len(concerns) > 20:
            fail("concerns", "give 1-20 concerns")
        if soc_in_pct is not None:
            check_decimal("soc_in_pct", soc_in_pct, minimum=Decimal(0), maximum=Decimal(100))
        return cls(
            vehicle_id=_check_uuid("vehicle_id", vehicle_id),
            customer_id=_check_uuid("customer_id", customer_id),
            concerns=[check_text("concerns", c, max_length=500) for c in concerns],
            odometer_in_km=_check_int(
                "odometer_in_km", odometer_in_km, minimum=0, maximum=MAX_ODOMETER_KM
            ),
            soc_in_pct=soc_in_pct,
            promised_at=None if promised_at is None else _check_at("promised_at", promised_at),
            currency=check_currency(currency),
            actor=actor,
            id=id,
        )

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Opened(Aggregate.Created):
        vehicle_id: UUID
        customer_id: UUID
        concerns: list[str]
        odometer_in_km: int
        soc_in_pct: Decimal | None
        promised_at: datetime | None
        currency: str
        actor: Actor

    @event(Opened)
    def __init__(
        self,
        *,
        vehicle_id: UUID,
        customer_id: UUID,
        concerns: list[str],
        odometer_in_km: int,
        soc_in_pct: Decimal | None,
        promised_at: datetime | None,
        currency: str,
        actor: Actor,
        id: UUID | None = None,
    ) -> None:
        # ``id`` is consumed by the library (a chosen id, or a new one when None); declaring it
        # is what lets ``open(id=...)`` through, and it is not event data.
        self.vehicle_id = vehicle_id
        self.customer_id = customer_id
        # Copies everywhere an event's list lands in state: mutating state must never rewrite
        # the recorded event (the library does not copy event attributes).
        self.concerns = list(concerns)
        self.odometer_in_km = odometer_in_km
        self.soc_in_pct = soc_in_pct
        self.promised_at = promised_at
        self.currency = currency
        self.opened_by = actor
        self.status = RepairOrderStatus.OPEN
        self.inspection_ids: list[str] = []
        self.jobs: dict[str, Job] = {}
        self.quote_version = 0
        self.hv_isolated = False
        self.isolation: dict[str, Any] | None = None
        self.clocked_on: dict[str, str] = {}  # technician id -> job id
        self.clocked_on_at: dict[str, datetime] = {}  # technician id -> since when
        self.part_requests: dict[str, dict[str, Any]] = {}
        self.outstanding_part_requests: list[str] = []
        self.qc_passed = False
        self.qc_notes: str | None = None
        self.invoice_number: str | None = None
        self.invoiced_at: datetime | None = None
        self.invoice_lines: list[InvoiceLine] = []
        self.subtotal = _ZERO
        self.tax_rate: Decimal | None = None
        self.tax = _ZERO
        self.total = _ZERO
        self.paid = _ZERO
        self.payments: list[dict[str, Any]] = []
        self.released = False
        self.odometer_out_km: int | None = None
        self.soc_out_pct: Decimal | None = None
        self.released_at: datetime | None = None
        self.cancel_reason: str | None = None
        # Check-in photos: damage already on the car at intake (attached, and awaiting
        # confirmation by media id).
        self.media: list[MediaAttachment] = []
        self.media_uploads: dict[str, MediaUpload] = {}

    # -- reads --------------------------------------------------------------------------------

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid

    def job(self, job_id: str) -> Job:
        """The job, or a validation error naming the unknown id."""
        found = self.jobs.get(job_id)
        if found is None:
            fail("job_id", f"no job {job_id!r} on this repair order")
        return found

    def jobs_in(self, *statuses: JobStatus) -> list[Job]:
        return [job for job in self.jobs.values() if job.status in statuses]

    def quote_totals(self) -> Decimal:
        """What the customer would pay before tax if every job not declined went ahead.

        Tax is not quoted here: the rate is applied by the application at invoicing time.
        """
        live = self.jobs_in(
            JobStatus.PROPOSED, JobStatus.QUOTED, JobStatus.APPROVED, JobStatus.COMPLETED
        )
        return sum((job.amount for job in live), _ZERO)

    def clocked_hours_by_job(self) -> dict[str, Decimal]:
        return {job_id: job.clocked_hours for job_id, job in self.jobs.items()}

    def current_isolation_is_safe(self) -> bool:
        """A current isolation exists and its record satisfies the HV gating rule."""
        iso = self.isolation
        return (
            self.hv_isolated
            and iso is not None
            and iso["residual_voltage_v"] < HV_SAFE_RESIDUAL_VOLTAGE
            and iso["technician_hv_level"] >= MIN_ISOLATION_LEVEL
        )

    def work_is_done(self) -> bool:
        """Every job the customer wants is completed and nothing is waiting for parts."""
        return (
            bool(self.jobs_in(JobStatus.COMPLETED))
            and not self.jobs_in(JobStatus.APPROVED, JobStatus.PROPOSED, JobStatus.QUOTED)
            and not self.outstanding_part_requests
        )

    def _require(self, command: str, allowed: tuple[RepairOrderStatus, ...]) -> None:
        if self.status not in allowed:
            raise InvalidStateError(command, self.status.value, tuple(s.value for s in allowed))

    def _settle_progress(self) -> None:
        """Derives the in-progress family of states after anything that may change it.

        Waiting for parts while any request is outstanding; quality check once the work is
        done; otherwise in progress. Called from event methods, so replay reaches the same state.
        """
        if self.status not in _WORKING:
            return
        if self.outstanding_part_requests:
            self.status = RepairOrderStatus.WAITING_FOR_PARTS
        elif self.work_is_done():
            self.status = RepairOrderStatus.QUALITY_CHECK
        else:
            self.status = RepairOrderStatus.IN_PROGRESS

    # -- inspection ---------------------------------------------------------------------------

    def link_inspection(self, *, inspection_id: UUID, actor: Actor) -> None:
        self._require("link an inspection", _JOB_EDITING)
        inspection_id = _check_uuid("inspection_id", inspection_id)
        if str(inspection_id) in self.inspection_ids:
            violate("inspection_already_linked", f"inspection {inspection_id} is already linked")
        self._inspection_linked(inspection_id=inspection_id, actor=actor)

    class InspectionLinked(Aggregate.Event):
        inspection_id: UUID
        actor: Actor

    @event(InspectionLinked)
    def _inspection_linked(self, *, inspection_id: UUID, actor: Actor) -> None:
        self.inspection_ids.append(str(inspection_id))
        if self.status is RepairOrderStatus.OPEN:
            self.status = RepairOrderStatus.INSPECTING

    # -- jobs ---------------------------------------------------------------------------------

    def _check_job_content(
        self,
        *,
        title: str,
        labour: list[LabourLine],
        parts: list[PartLine],
        hv_work: bool,
        required_hv_level: int | None,
    ) -> dict[str, Any]:
        if not isinstance(labour, list) or not all(isinstance(x, LabourLine) for x in labour):
            fail("labour", "must be a list of labour lines")
        if not isinstance(parts, list) or not all(isinstance(x, PartLine) for x in parts):
            fail("parts", "must be a list of part lines")
        if not labour and not parts:
            fail("labour", "a job needs at least one labour or part line")
        if len(labour) > MAX_LINES_PER_JOB or len(parts) > MAX_LINES_PER_JOB:
            fail("labour", f"at most {MAX_LINES_PER_JOB} labour and {MAX_LINES_PER_JOB} part lines")
        _check_canonical_lines("labour", labour, ("hours", "rate"))
        _check_canonical_lines("parts", parts, ("quantity", "unit_price"))
        hv_work = _check_bool("hv_work", hv_work)
        if required_hv_level is None:
            level = DEFAULT_HV_REPAIR_LEVEL if hv_work else 0
        else:
            level = _check_level("required_hv_level", required_hv_level)
        if hv_work and level < MIN_ISOLATION_LEVEL:
            fail("required_hv_level", f"HV work needs level {MIN_ISOLATION_LEVEL} or more")
        return {
            "title": check_text("title", title),
            "labour": list(labour),
            "parts": list(parts),
            "hv_work": hv_work,
            "required_hv_level": level,
        }

    def add_job(
        self,
        *,
        job_id: str,
        title: str,
        labour: list[LabourLine],
        parts: list[PartLine],
        hv_work: bool,
        required_hv_level: int | None,
        actor: Actor,
    ) -> None:
        self._require("add a job", _JOB_EDITING)
        job_id = check_job_id(job_id)
        content = self._check_job_content(
            title=title,
            labour=labour,
            parts=parts,
            hv_work=hv_work,
            required_hv_level=required_hv_level,
        )
        if job_id in self.jobs:
            violate("job_id_taken", f"job {job_id!r} already exists on this repair order")
        self._check_order_amount(job_id, content)
        self._job_added(job_id=job_id, **content, actor=actor)

    def _check_order_amount(self, job_id: str, content: dict[str, Any]) -> None:
        """Refuses a job that would take the order's amounts past the canonical format (every
        job counts, declined ones too: a later quote may approve them; a revised job counts
        once, with its new lines)."""
        lines = [*content["labour"], *content["parts"]]
        amount = sum((line.amount for line in lines), _ZERO)
        others = sum((j.amount for j in self.jobs.values() if j.job_id != job_id), _ZERO)
        if amount + others > MAX_ORDER_SUBTOTAL:
            violate(
                "order_amount_too_large",
                f"the order's jobs would come to {amount + others} {self.currency}, more than "
                f"{MAX_ORDER_SUBTOTAL}: split the work over several orders",
            )

    class JobAdded(Aggregate.Event):
        job_id: str
        title: str
        labour: list[LabourLine]
        parts: list[PartLine]
        hv_work: bool
        required_hv_level: int
        actor: Actor

    @event(JobAdded)
    def _job_added(
        self,
        *,
        job_id: str,
        title: str,
        labour: list[LabourLine],
        parts: list[PartLine],
        hv_work: bool,
        required_hv_level: int,
        actor: Actor,
    ) -> None:
        self.jobs[job_id] = Job(
            job_id, title, list(labour), list(parts), hv_work, required_hv_level
        )
        if self.status in (RepairOrderStatus.OPEN, RepairOrderStatus.INSPECTING):
            self.status = RepairOrderStatus.QUOTING

    def revise_job(
        self,
        *,
        job_id: str,
        title: str,
        labour: list[LabourLine],
        parts: list[PartLine],
        hv_work: bool,
        required_hv_level: int | None,
        actor: Actor,
    ) -> None:
        self._require("revise a job", _JOB_EDITING)
        job = self.job(job_id)
        content = self._check_job_content(
            title=title,
            labour=labour,
            parts=parts,
            hv_work=hv_work,
            required_hv_level=required_hv_level,
        )
        # The customer agreed to a price for exactly this work: changing it silently would
        # invoice something nobody approved. Add a new job and quote it instead.
        if job.status in (JobStatus.APPROVED, JobStatus.COMPLETED):
            violate("approved_job_locked", f"job {job_id!r} is {job.status.value} and locked")
        self._check_order_amount(job.job_id, content)
        self._job_revised(job_id=job.job_id, **content, actor=actor)

    class JobRevised(Aggregate.Event):
        job_id: str
        title: str
        labour: list[LabourLine]
        parts: list[PartLine]
        hv_work: bool
        required_hv_level: int
        actor: Actor

    @event(JobRevised)
    def _job_revised(
        self,
        *,
        job_id: str,
        title: str,
        labour: list[LabourLine],
        parts: list[PartLine],
        hv_work: bool,
        required_hv_level: int,
        actor: Actor,
    ) -> None:
        # A revised job is a new proposal: earlier quotes and decisions no longer apply to it.
        self.jobs[job_id] = Job(
            job_id, title, list(labour), list(parts), hv_work, required_hv_level
        )

    def remove_job(self, *, job_id: str, actor: Actor) -> None:
        self._require("remove a job", _JOB_EDITING)
        job = self.job(job_id)
        if job.status in (JobStatus.APPROVED, JobStatus.COMPLETED):
            violate("approved_job_locked", f"job {job_id!r} is {job.status.value} and locked")
        self._job_removed(job_id=job.job_id, actor=actor)

    class JobRemoved(Aggregate.Event):
        job_id: str
        actor: Actor

    @event(JobRemoved)
    def _job_removed(self, *, job_id: str, actor: Actor) -> None:
        del self.jobs[job_id]
        self._settle_progress()

    # -- quote and approvals -----------------------------------------------------------------

    def send_quote(self, *, actor: Actor) -> None:
        self._require("send a quote", _QUOTING)
        proposed = self.jobs_in(JobStatus.PROPOSED)
        if not proposed:
            violate("nothing_to_quote", "no proposed jobs to quote")
        self._quote_sent(
            quote_version=self.quote_version + 1,
            job_ids=[job.job_id for job in proposed],
            subtotal=sum((job.amount for job in proposed), _ZERO),
            total=self.quote_totals(),
            actor=actor,
        )

    class QuoteSent(Aggregate.Event):
        quote_version: int
        job_ids: list[str]
        subtotal: Decimal
        total: Decimal
        actor: Actor

    @event(QuoteSent)
    def _quote_sent(
        self,
        *,
        quote_version: int,
        job_ids: list[str],
        subtotal: Decimal,
        total: Decimal,
        actor: Actor,
    ) -> None:
        self.quote_version = quote_version
        for job_id in job_ids:
            self.jobs[job_id].status = JobStatus.QUOTED
            self.jobs[job_id].quoted_in = quote_version
        if self.status is RepairOrderStatus.QUOTING:
            self.status = RepairOrderStatus.AWAITING_APPROVAL

    def _quoted_in(self, job: Job) -> int:
        # Quoted and declined jobs always carry the version they were quoted in.
        return self.quote_version if job.quoted_in is None else job.quoted_in

    def _check_decision(
        self,
        *,
        channel: ApprovalChannel,
        client_ip: str | None,
        at: datetime,
        quote_version: int | None = None,
    ) -> dict[str, Any]:
        # A decision taken on a quote the customer was shown (an emailed link names its
        # version) is refused once a newer quote was sent: they have not seen that one.
        if quote_version is not None and quote_version != self.quote_version:
            violate(
                "quote_superseded",
                f"this decision was made on quote version {quote_version}; "
                f"version {self.quote_version} has been sent since",
            )
        if client_ip is not None:
            try:
                client_ip = str(ipaddress.ip_address(client_ip))
            except ValueError:
                fail("client_ip", "must be an IPv4 or IPv6 address")
        return {
            "channel": _member(ApprovalChannel, channel, "channel"),
            "client_ip": client_ip,
            "at": _check_at("at", at),
        }

    def approve_job(
        self,
        *,
        job_id: str,
        channel: ApprovalChannel,
        client_ip: str | None,
        at: datetime,
        actor: Actor,
        quote_version: int | None = None,
    ) -> None:
        self._require("approve a job", _DECIDING)
        job = self.job(job_id)
        decision = self._check_decision(
            channel=channel, client_ip=client_ip, at=at, quote_version=quote_version
        )
        # A declined job may be approved later against the quote the customer already saw.
        if job.status not in (JobStatus.QUOTED, JobStatus.DECLINED):
            violate(
                "job_not_quoted",
                f"job {job_id!r} is {job.status.value}; only a quoted or declined job "
                "can be approved",
            )
        self._job_approved(
            job_id=job.job_id, quote_version=self._quoted_in(job), **decision, actor=actor
        )

    class JobApproved(Aggregate.Event):
        job_id: str
        quote_version: int
        channel: ApprovalChannel
        client_ip: str | None
        at: datetime
        actor: Actor

    @event(JobApproved)
    def _job_approved(
        self,
        *,
        job_id: str,
        quote_version: int,
        channel: ApprovalChannel,
        client_ip: str | None,
        at: datetime,
        actor: Actor,
    ) -> None:
        job = self.jobs[job_id]
        job.status = JobStatus.APPROVED
        job.approved_by, job.approved_at, job.approval_channel = actor, at, channel
        job.declined_by = job.declined_at = job.declined_reason = job.declined_channel = None
        if self.status is RepairOrderStatus.AWAITING_APPROVAL:
            self.status = RepairOrderStatus.IN_PROGRESS

    def decline_job(
        self,
        *,
        job_id: str,
        channel: ApprovalChannel,
        client_ip: str | None,
        at: datetime,
        reason: str | None,
        actor: Actor,
        quote_version: int | None = None,
    ) -> None:
        self._require("decline a job", _DECIDING)
        job = self.job(job_id)
        decision = self._check_decision(
            channel=channel, client_ip=client_ip, at=at, quote_version=quote_version
        )
        reason = _optional_text("reason", reason, 500)
        if job.status is not JobStatus.QUOTED:
            violate(
                "job_not_quoted",
                f"job {job_id!r} is {job.status.value}; only a quoted job can be declined",
            )
        self._job_declined(
            job_id=job.job_id,
            quote_version=self._quoted_in(job),
            **decision,
            reason=reason,
            actor=actor,
        )

    class JobDeclined(Aggregate.Event):
        job_id: str
        quote_version: int
        channel: ApprovalChannel
        client_ip: str | None
        at: datetime
        reason: str | None
        actor: Actor

    @event(JobDeclined)
    def _job_declined(
        self,
        *,
        job_id: str,
        quote_version: int,
        channel: ApprovalChannel,
        client_ip: str | None,
        at: datetime,
        reason: str | None,
        actor: Actor,
    ) -> None:
        job = self.jobs[job_id]
        job.status = JobStatus.DECLINED
        job.declined_by, job.declined_at, job.declined_reason = actor, at, reason
        job.declined_channel = channel
        # Declining the last open job may leave only completed work.
        self._settle_progress()

    def assign_technician(
        self, *, job_id: str, staff_id: UUID, hv_level: int, actor: Actor
    ) -> None:
        self._require("assign a technician", _WORKING)
        job = self.job(job_id)
        staff_id = _check_uuid("staff_id", staff_id)
        hv_level = _check_level("hv_level", hv_level)
        if job.status is not JobStatus.APPROVED:
            violate("job_not_approved", f"job {job_id!r} is {job.status.value}, not approved")
        if str(staff_id) in job.assigned:
            violate("technician_already_assigned", f"{staff_id} is already on job {job_id!r}")
        # Caught here rather than only at clock-on, so the planner sees it when planning.
        if hv_level < job.required_hv_level:
            violate(
                "hv_qualification_insufficient",
                f"job {job_id!r} needs HV level {job.required_hv_level}, technician has {hv_level}",
            )
        self._technician_assigned(
            job_id=job.job_id, staff_id=staff_id, hv_level=hv_level, actor=actor
        )

    class TechnicianAssigned(Aggregate.Event):
        job_id: str
        staff_id: UUID
        hv_level: int
        actor: Actor

    @event(TechnicianAssigned)
    def _technician_assigned(
        self, *, job_id: str, staff_id: UUID, hv_level: int, actor: Actor
    ) -> None:
        self.jobs[job_id].assigned.append(str(staff_id))

    # -- high voltage -------------------------------------------------------------------------

    def isolate_hv(
        self,
        *,
        technician_id: UUID,
        technician_hv_level: int,
        residual_voltage_v: Decimal,
        lock_tag_id: str,
        ppe_checked: bool,
        at: datetime,
        actor: Actor,
    ) -> None:
        self._require("isolate high voltage", _ISOLATING)
        technician_id = _check_uuid("technician_id", technician_id)
        technician_hv_level = _check_level("technician_hv_level", technician_hv_level)
        check_decimal(
            "residual_voltage_v",
            residual_voltage_v,
            minimum=Decimal(0),
            maximum=MAX_RESIDUAL_VOLTAGE,
        )
        lock_tag_id = check_text("lock_tag_id", lock_tag_id, max_length=40)
        ppe_checked = _check_bool("ppe_checked", ppe_checked)
        at = _check_at("at", at)
        if self.hv_isolated:
            violate("hv_already_isolated", "high voltage is already isolated on this order")
        if technician_hv_level < MIN_ISOLATION_LEVEL:
            violate(
                "hv_qualification_insufficient",
                f"isolating needs HV level {MIN_ISOLATION_LEVEL}, technician has "
                f"{technician_hv_level}",
            )
        if residual_voltage_v >= HV_SAFE_RESIDUAL_VOLTAGE:
            violate(
                "residual_voltage_too_high",
                f"residual {residual_voltage_v} V is not below {HV_SAFE_RESIDUAL_VOLTAGE} V DC",
            )
        if not ppe_checked:
            violate("ppe_not_checked", "check the insulating PPE before isolating")
        self._hv_isolated(
            technician_id=technician_id,
            technician_hv_level=technician_hv_level,
            residual_voltage_v=residual_voltage_v,
            lock_tag_id=lock_tag_id,
            ppe_checked=ppe_checked,
            at=at,
            actor=actor,
        )

    class HighVoltageIsolated(Aggregate.Event):
        technician_id: UUID
        technician_hv_level: int
        residual_voltage_v: Decimal
        lock_tag_id: str
        ppe_checked: bool
        at: datetime
        actor: Actor

    @event(HighVoltageIsolated)
    def _hv_isolated(
        self,
        *,
        technician_id: UUID,
        technician_hv_level: int,
        residual_voltage_v: Decimal,
        lock_tag_id: str,
        ppe_checked: bool,
        at: datetime,
        actor: Actor,
    ) -> None:
        self.hv_isolated = True
        self.isolation = {
            "technician_id": str(technician_id),
            "technician_hv_level": technician_hv_level,
            "residual_voltage_v": residual_voltage_v,
            "lock_tag_id": lock_tag_id,
            "ppe_checked": ppe_checked,
            "at": at,
        }

    def restore_hv(
        self, *, technician_id: UUID, technician_hv_level: int, at: datetime, actor: Actor
    ) -> None:
        self._require("restore high voltage", _RESTORING)
        technician_id = _check_uuid("technician_id", technician_id)
        technician_hv_level = _check_level("technician_hv_level", technician_hv_level)
        at = _check_at("at", at)
        if not self.hv_isolated:
            violate("hv_not_isolated", "high voltage is not isolated on this order")
        if technician_hv_level < MIN_ISOLATION_LEVEL:
            violate(
                "hv_qualification_insufficient",
                f"restoring needs HV level {MIN_ISOLATION_LEVEL}, technician has "
                f"{technician_hv_level}",
            )
        # Re-energising the pack under someone's hands is exactly what the isolation prevents.
        busy = sorted(t for t, j in self.clocked_on.items() if self.jobs[j].hv_work)
        if busy:
            violate("hv_work_in_progress", f"clock off HV work first ({', '.join(busy)})")
        self._hv_restored(
            technician_id=technician_id,
            technician_hv_level=technician_hv_level,
            at=at,
            actor=actor,
        )

    class HighVoltageRestored(Aggregate.Event):
        technician_id: UUID
        technician_hv_level: int
        at: datetime
        actor: Actor

    @event(HighVoltageRestored)
    def _hv_restored(
        self, *, technician_id: UUID, technician_hv_level: int, at: datetime, actor: Actor
    ) -> None:
        self.hv_isolated = False
        self.isolation = None

    # -- labour clock -------------------------------------------------------------------------

    def clock_on(
        self,
        *,
        job_id: str,
        technician_id: UUID,
        technician_hv_level: int,
        at: datetime,
        actor: Actor,
    ) -> None:
        self._require("clock on", _WORKING)
        job = self.job(job_id)
        technician_id = _check_uuid("technician_id", technician_id)
        technician_hv_level = _check_level("technician_hv_level", technician_hv_level)
        at = _check_at("at", at)
        if job.status is not JobStatus.APPROVED:
            violate("job_not_approved", f"job {job_id!r} is {job.status.value}, not approved")
        current = self.clocked_on.get(str(technician_id))
        if current is not None:
            violate(
                "technician_already_clocked_on",
                f"technician {technician_id} is already clocked on job {current!r}",
            )
        # Check the isolation record itself, not just the flag: an isolation recorded under an
        # older, laxer rule must not let HV work start today.
        if job.hv_work and not self.current_isolation_is_safe():
            violate(
                "hv_isolation_required",
                f"job {job_id!r} is HV work: isolate HV (residual below "
                f"{HV_SAFE_RESIDUAL_VOLTAGE} V, by level {MIN_ISOLATION_LEVEL}+) first",
            )
        if technician_hv_level < job.required_hv_level:
            violate(
                "hv_qualification_insufficient",
                f"job {job_id!r} needs HV level {job.required_hv_level}, technician has "
                f"{technician_hv_level}",
            )
        self._labour_clocked_on(
            job_id=job.job_id,
            technician_id=technician_id,
            technician_hv_level=technician_hv_level,
            at=at,
            actor=actor,
        )

    class LabourClockedOn(Aggregate.Event):
        job_id: str
        technician_id: UUID
        technician_hv_level: int
        at: datetime
        actor: Actor

    @event(LabourClockedOn)
    def _labour_clocked_on(
        self,
        *,
        job_id: str,
        technician_id: UUID,
        technician_hv_level: int,
        at: datetime,
        actor: Actor,
    ) -> None:
        self.clocked_on[str(technician_id)] = job_id
        self.clocked_on_at[str(technician_id)] = at

    def clock_off(self, *, job_id: str, technician_id: UUID, at: datetime, actor: Actor) -> None:
        self._require("clock off", _WORKING)
        job = self.job(job_id)
        technician_id = _check_uuid("technician_id", technician_id)
        at = _check_at("at", at)
        if self.clocked_on.get(str(technician_id)) != job.job_id:
            violate(
                "technician_not_clocked_on",
                f"technician {technician_id} is not clocked on job {job_id!r}",
            )
        since = self.clocked_on_at[str(technician_id)]
        if at < since:
            fail("at", f"clock-off time is before clock-on time {since.isoformat()}")
        # Computed, never typed: Decimal arithmetic on whole microseconds, rounded to 0.01 h.
        elapsed = at - since
        micros = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
        hours = money(Decimal(micros) / 1_000_000 / _SECONDS_PER_HOUR)
        self._labour_clocked_off(
            job_id=job.job_id,
            technician_id=technician_id,
            clocked_on_at=since,
            clocked_off_at=at,
            hours=hours,
            actor=actor,
        )

    class LabourClockedOff(Aggregate.Event):
        job_id: str
        technician_id: UUID
        clocked_on_at: datetime
        clocked_off_at: datetime
        hours: Decimal
        actor: Actor

    @event(LabourClockedOff)
    def _labour_clocked_off(
        self,
        *,
        job_id: str,
        technician_id: UUID,
        clocked_on_at: datetime,
        clocked_off_at: datetime,
        hours: Decimal,
        actor: Actor,
    ) -> None:
        del self.clocked_on[str(technician_id)]
        del self.clocked_on_at[str(technician_id)]
        self.jobs[job_id].clocked_hours += hours

    # -- parts --------------------------------------------------------------------------------

    def request_parts(
        self, *, request_id: str, job_id: str, lines: list[PartRequestLine], actor: Actor
    ) -> None:
        self._require("request parts", _WORKING)
        request_id = check_text("request_id", request_id, max_length=64)
        job = self.job(job_id)
        if not isinstance(lines, list) or not lines or len(lines) > MAX_LINES_PER_JOB:
            fail("lines", f"give 1-{MAX_LINES_PER_JOB} part request lines")
        if not all(isinstance(line, PartRequestLine) for line in lines):
            fail("lines", "must be part request lines")
        _check_canonical_lines("lines", lines, ("quantity",))
        if request_id in self.part_requests:
            violate("part_request_id_taken", f"part request {request_id!r} already exists")
        if job.status is not JobStatus.APPROVED:
            violate("job_not_approved", f"job {job_id!r} is {job.status.value}, not approved")
        self._parts_requested(
            request_id=request_id, job_id=job.job_id, lines=list(lines), actor=actor
        )

    class PartsRequested(Aggregate.Event):
        request_id: str
        job_id: str
        lines: list[PartRequestLine]
        actor: Actor

    @event(PartsRequested)
    def _parts_requested(
        self, *, request_id: str, job_id: str, lines: list[PartRequestLine], actor: Actor
    ) -> None:
        self.part_requests[request_id] = {"job_id": job_id, "lines": list(lines), "received": False}
        self.outstanding_part_requests.append(request_id)
        self._settle_progress()

    def receive_parts(self, *, request_id: str, actor: Actor) -> None:
        self._require("receive parts", _WORKING)
        request = self.part_requests.get(request_id)
        if request is None:
            fail("request_id", f"no part request {request_id!r} on this repair order")
        if request["received"]:
            violate("parts_already_received", f"part request {request_id!r} was already received")
        self._parts_received(request_id=request_id, actor=actor)

    class PartsReceived(Aggregate.Event):
        request_id: str
        actor: Actor

    @event(PartsReceived)
    def _parts_received(self, *, request_id: str, actor: Actor) -> None:
        self.part_requests[request_id]["received"] = True
        self.outstanding_part_requests.remove(request_id)
        self._settle_progress()

    # -- completion and quality check ---------------------------------------------------------

    def complete_job(self, *, job_id: str, actor: Actor) -> None:
        self._require("complete a job", _WORKING)
        job = self.job(job_id)
        if job.status is not JobStatus.APPROVED:
            violate("job_not_approved", f"job {job_id!r} is {job.status.value}, not approved")
        working = sorted(t for t, j in self.clocked_on.items() if j == job.job_id)
        if working:
            violate("technician_clocked_on", f"clock off {', '.join(working)} first")
        self._job_completed(job_id=job.job_id, actor=actor)

    class JobCompleted(Aggregate.Event):
        job_id: str
        actor: Actor

    @event(JobCompleted)
    def _job_completed(self, *, job_id: str, actor: Actor) -> None:
        self.jobs[job_id].status = JobStatus.COMPLETED
        self._settle_progress()

    def pass_quality_check(self, *, notes: str | None, actor: Actor) -> None:
        self._require("pass the quality check", (RepairOrderStatus.QUALITY_CHECK,))
        notes = _optional_text("notes", notes, 2000)
        if self.qc_passed:
            violate("quality_check_already_passed", "the quality check has already passed")
        self._require_hv_restored("pass the quality check")
        self._quality_check_passed(notes=notes, actor=actor)

    def _require_hv_restored(self, command: str) -> None:
        """A car with its HV lockout applied is not ready: neither its HV work's quality
        check nor the transition to ready for pickup may happen until HV is restored."""
        if self.hv_isolated:
            violate(
                HV_RESTORED_BEFORE_READY,
                f"cannot {command} while high voltage is isolated: restore HV first",
            )

    class QualityCheckPassed(Aggregate.Event):
        notes: str | None
        actor: Actor

    @event(QualityCheckPassed)
    def _quality_check_passed(self, *, notes: str | None, actor: Actor) -> None:
        self.qc_passed = True
        self.qc_notes = notes

    def fail_quality_check(self, *, reason: str, job_ids: list[str], actor: Actor) -> None:
        self._require("fail the quality check", (RepairOrderStatus.QUALITY_CHECK,))
        reason = check_text("reason", reason, max_length=2000)
        if not isinstance(job_ids, list) or not job_ids:
            fail("job_ids", "name the jobs that must be redone")
        if not all(isinstance(job_id, str) for job_id in job_ids):
            fail("job_ids", "must be job ids")
        if len(set(job_ids)) != len(job_ids):
            fail("job_ids", "must not repeat a job")
        for job_id in job_ids:
            job = self.job(job_id)
            if job.status is not JobStatus.COMPLETED:
                violate("job_not_completed", f"job {job_id!r} is {job.status.value}")
        self._quality_check_failed(reason=reason, job_ids=list(job_ids), actor=actor)

    class QualityCheckFailed(Aggregate.Event):
        reason: str
        job_ids: list[str]
        actor: Actor

    @event(QualityCheckFailed)
    def _quality_check_failed(self, *, reason: str, job_ids: list[str], actor: Actor) -> None:
        for job_id in job_ids:
            self.jobs[job_id].status = JobStatus.APPROVED
        self.qc_passed = False
        self.qc_notes = None
        self.status = RepairOrderStatus.IN_PROGRESS

    # -- invoice, payment, release ------------------------------------------------------------

    def invoice(
        self, *, invoice_number: str, tax_rate: Decimal, at: datetime, actor: Actor
    ) -> None:
        self._require("invoice", (RepairOrderStatus.QUALITY_CHECK,))
        invoice_number = check_text("invoice_number", invoice_number, max_length=40)
        check_decimal("tax_rate", tax_rate, minimum=Decimal(0), maximum=Decimal(1))
        at = _check_at("at", at)
        if not self.qc_passed:
            violate("quality_check_not_passed", "pass the quality check before invoicing")
        # Invoicing makes the car ready for pickup (and emails the customer so).
        self._require_hv_restored("invoice")
        # Only completed jobs are billed; a job is completed only after it was approved, so
        # declined and never-approved work cannot reach the invoice.
        lines = [line for job in self.jobs_in(JobStatus.COMPLETED) for line in job.invoice_lines()]
        subtotal = sum((line.amount for line in lines), _ZERO)
        tax = money(subtotal * tax_rate)
        self._invoiced(
            invoice_number=invoice_number,
            lines=lines,
            subtotal=subtotal,
            tax_rate=tax_rate,
            tax=tax,
            total=subtotal + tax,
            at=at,
            actor=actor,
        )

    class Invoiced(Aggregate.Event):
        invoice_number: str
        lines: list[InvoiceLine]
        subtotal: Decimal
        tax_rate: Decimal
        tax: Decimal
        total: Decimal
        at: datetime
        actor: Actor

    @event(Invoiced)
    def _invoiced(
        self,
        *,
        invoice_number: str,
        lines: list[InvoiceLine],
        subtotal: Decimal,
        tax_rate: Decimal,
        tax: Decimal,
        total: Decimal,
        at: datetime,
        actor: Actor,
    ) -> None:
        self.invoice_number = invoice_number
        self.invoice_lines = list(lines)
        self.subtotal = subtotal
        self.tax_rate = tax_rate
        self.tax = tax
        self.total = total
        self.invoiced_at = at
        self.status = RepairOrderStatus.READY_FOR_PICKUP

    def record_payment(
        self,
        *,
        amount: Decimal,
        method: PaymentMethod,
        reference: str | None,
        at: datetime,
        actor: Actor,
    ) -> None:
        self._require("record a payment", (RepairOrderStatus.READY_FOR_PICKUP,))
        check_canonical_decimal("amount", amount)
        _check_positive("amount", amount, Decimal(100_000_000))
        if money(amount) != amount:
            fail("amount", "must be in whole cents")
        method = _member(PaymentMethod, method, "method")
        reference = _optional_text("reference", reference, 100)
        at = _check_at("at", at)
        if amount > self.balance:
            violate(
                "payment_exceeds_balance",
                f"{amount} {self.currency} is more than the balance of {self.balance}",
            )
        self._payment_recorded(
            amount=money(amount), method=method, reference=reference, at=at, actor=actor
        )

    class PaymentRecorded(Aggregate.Event):
        amount: Decimal
        method: PaymentMethod
        reference: str | None
        at: datetime
        actor: Actor

    @event(PaymentRecorded)
    def _payment_recorded(
        self,
        *,
        amount: Decimal,
        method: PaymentMethod,
        reference: str | None,
        at: datetime,
        actor: Actor,
    ) -> None:
        self.paid += amount
        self.payments.append({"amount": amount, "method": method, "reference": reference, "at": at})
        self._close_if_done()

    def release(
        self, *, odometer_out_km: int, soc_out_pct: Decimal | None, at: datetime, actor: Actor
    ) -> None:
        self._require("release the vehicle", (RepairOrderStatus.READY_FOR_PICKUP,))
        odometer_out_km = _check_int(
            "odometer_out_km", odometer_out_km, minimum=0, maximum=MAX_ODOMETER_KM
        )
        if soc_out_pct is not None:
            check_decimal("soc_out_pct", soc_out_pct, minimum=Decimal(0), maximum=Decimal(100))
        at = _check_at("at", at)
        if odometer_out_km < self.odometer_in_km:
            fail("odometer_out_km", f"is below the odometer in ({self.odometer_in_km} km)")
        if self.released:
            violate("already_released", "the vehicle has already been released")
        if self.hv_isolated:
            violate("hv_not_restored", "restore high voltage before releasing the vehicle")
        self._released(odometer_out_km=odometer_out_km, soc_out_pct=soc_out_pct, at=at, actor=actor)

    class Released(Aggregate.Event):
        odometer_out_km: int
        soc_out_pct: Decimal | None
        at: datetime
        actor: Actor

    @event(Released)
    def _released(
        self, *, odometer_out_km: int, soc_out_pct: Decimal | None, at: datetime, actor: Actor
    ) -> None:
        self.released = True
        self.odometer_out_km = odometer_out_km
        self.soc_out_pct = soc_out_pct
        self.released_at = at
        self._close_if_done()

    def _close_if_done(self) -> None:
        # Closed is derived, never commanded: it means paid in full and the car has left.
        if self.released and self.balance == 0:
            self.status = RepairOrderStatus.CLOSED

    # -- check-in photos ---------------------------------------------------------------------
    # The advisor photographs damage already on the car at intake, so nobody argues later
    # about who scratched what. Photos only; two steps like an inspection's media: a ticket
    # is issued for an upload, then the stored bytes are confirmed and recorded as attached.

    @property
    def is_open(self) -> bool:
        """The car is still in the garage's hands: not released, closed or cancelled."""
        return not self.released and self.status not in _FINISHED

    def media_item(self, media_id: UUID) -> MediaAttachment | None:
        return next((m for m in self.media if m.media_id == media_id), None)

    def request_media_upload(
        self,
        *,
        media_id: UUID,
        file_name: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        key: str,
        actor: Actor,
    ) -> None:
        if not self.is_open:
            raise InvalidStateError(
                "add a check-in photo",
                "released" if self.released else self.status.value,
                tuple(s.value for s in RepairOrderStatus if s not in _FINISHED),
            )
        check_new_media(media_id, self.media_uploads, self.media)
        if content_type not in PHOTO_CONTENT_TYPES:
            fail(
                "content_type",
                "check-in media are photos: one of " + ", ".join(sorted(PHOTO_CONTENT_TYPES)),
            )
        self._media_upload_requested(
            media_id=media_id,
            file_name=check_file_name(file_name),
            content_type=check_content_type(content_type, PHOTO_CONTENT_TYPES),
            size_bytes=check_size(size_bytes),
            sha256=check_sha256(sha256),
            key=check_key(key),
            actor=actor,
        )

    class MediaUploadRequested(Aggregate.Event):
        media_id: UUID
        file_name: str
        content_type: str
        size_bytes: int
        sha256: str
        key: str
        actor: Actor

    @event(MediaUploadRequested)
    def _media_upload_requested(
        self,
        *,
        media_id: UUID,
        file_name: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        key: str,
        actor: Actor,
    ) -> None:
        self.media_uploads[str(media_id)] = MediaUpload(
            media_id, None, file_name, content_type, size_bytes, sha256, key
        )

    def attach_media(
        self, *, media_id: UUID, width: int | None, height: int | None, key: str, actor: Actor
    ) -> None:
        """Records a requested check-in photo as attached once its bytes were checked
        (whatever the order's state now: the request was made while it was open)."""
        upload = waiting_upload(self.media_uploads, media_id)
        self._media_attached(
            media_id=media_id,
            file_name=upload.file_name,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            width=check_dimension("width", width),
            height=check_dimension("height", height),
            key=check_key(key),
            actor=actor,
        )

    class MediaAttached(Aggregate.Event):
        media_id: UUID
        file_name: str
        content_type: str
        size_bytes: int
        sha256: str
        width: int | None
        height: int | None
        key: str
        actor: Actor

        def apply(self, aggregate: Any) -> None:
            # Runs after the method below: the event's own time is only known here.
            aggregate._stamp_media(self.media_id, self.timestamp)
            super().apply(aggregate)

    @event(MediaAttached)
    def _media_attached(
        self,
        *,
        media_id: UUID,
        file_name: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        width: int | None,
        height: int | None,
        key: str,
        actor: Actor,
    ) -> None:
        self.media_uploads.pop(str(media_id), None)
        self.media.append(
            MediaAttachment(
                media_id=media_id,
                item_code=None,
                content_type=content_type,
                size_bytes=size_bytes,
                sha256=sha256,
                file_name=file_name,
                width=width,
                height=height,
                key=key,
                attached_by=actor,
            )
        )

    def _stamp_media(self, media_id: UUID, attached_at: datetime) -> None:
        for index, attached in enumerate(self.media):
            if attached.media_id == media_id:
                self.media[index] = attrs.evolve(attached, attached_at=attached_at)

    # -- cancellation -------------------------------------------------------------------------

    def cancel(self, *, reason: str, actor: Actor) -> None:
        self._require("cancel", _CANCELLABLE)
        reason = check_text("reason", reason, max_length=2000)
        if self.clocked_on:
            violate("labour_in_progress", "clock everyone off before cancelling")
        if self.hv_isolated:
            violate("hv_not_restored", "restore high voltage before cancelling")
        self._cancelled(reason=reason, actor=actor)

    class Cancelled(Aggregate.Event):
        reason: str
        actor: Actor

    @event(Cancelled)
    def _cancelled(self, *, reason: str, actor: Actor) -> None:
        self.status = RepairOrderStatus.CANCELLED
        self.cancel_reason = reason


VALUE_TYPES: list[type] = [LabourLine, PartLine, InvoiceLine, PartRequestLine, Job]
ENUMS: list[type[Enum]] = [RepairOrderStatus, JobStatus, ApprovalChannel, PaymentMethod]
