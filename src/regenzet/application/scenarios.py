"""One way to build a customer, a vehicle and a repair order through its lifecycle, with
sensible defaults and overrides: what the demo garage, the benchmarks, the golden fixtures
and the tests all need (ADR 0033).

* :func:`register_customer` / :func:`register_vehicle` and :class:`OrderScript` go through the
  use cases (``Workshop``), one command per step, exactly as staff would;
* :func:`closed_order` walks a bare ``RepairOrder`` aggregate through every stage in memory
  (saved in one go by the caller: the benchmarks' and the large-log tests' pre-fill).

The standard order is the one every copy used: an HV coolant pump (level 3) and a cabin
filter, quoted, approved on the portal, the HV system isolated, both jobs clocked, quality
checked, invoiced, paid by card and handed over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID, uuid4

import attrs

from regenzet.application import commands
from regenzet.application.access import InProcess
from regenzet.application.media_use_cases import IssuedUpload
from regenzet.application.workshop import Receipt, Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PaymentMethod,
    RepairOrder,
)

D = Decimal


@attrs.frozen
class Job:
    """A job as the advisor quotes it."""

    job_id: str
    title: str
    labour: tuple[LabourLine, ...]
    parts: tuple[PartLine, ...] = ()
    hv_work: bool = False
    required_hv_level: int | None = None


HV_PUMP = Job(
    "hv-pump",
    "Replace HV coolant pump",
    (LabourLine("Pump", D("2.5"), D("95")),),
    (PartLine("P-1", "Pump", D("1"), D("389.00")),),
    hv_work=True,
    required_hv_level=3,
)
CABIN_FILTER = Job(
    "filter",
    "Cabin filter",
    (LabourLine("Filter", D("0.3"), D("85")),),
    (PartLine("F-1", "Filter", D("1"), D("59.90")),),
)
STANDARD_JOBS = (HV_PUMP, CABIN_FILTER)
CONCERNS = ("Coolant warning",)
CLIENT_IP = "203.0.113.9"


def technician(staff_id: UUID) -> Actor:
    return Actor(str(staff_id), Role.TECHNICIAN)


def customer_actor(customer_id: UUID) -> Actor:
    return Actor(str(customer_id), Role.CUSTOMER)


# ---------------------------------------------------------------------------------------------
# through the use cases
# ---------------------------------------------------------------------------------------------


def register_customer(
    w: Workshop,
    *,
    actor: Actor,
    name: str = "Sanne de Vries",
    email: str = "sanne@example.nl",
    phone: str | None = "+31612345678",
    preferences: NotificationPreferences | None = None,
    customer_id: UUID | None = None,
) -> UUID:
    return w.register_customer(
        name=name,
        email=email,
        phone=phone,
        actor=actor,
        preferences=preferences,
        customer_id=customer_id,
    ).id


def register_vehicle(
    w: Workshop,
    *,
    owner_id: UUID,
    actor: Actor,
    vin: str = "5YJ3E1EA2KF317000",
    plate: str = "R-123-TX",
    make: str | None = None,
    model: str = "Model 3",
    year: int = 2019,
    battery_kwh: Decimal = Decimal("75"),
    nominal_voltage_v: Decimal = Decimal("350"),
) -> UUID:
    return w.register_vehicle(
        vin=vin,
        plate=plate,
        make=make,
        model=model,
        year=year,
        battery_kwh=battery_kwh,
        nominal_voltage_v=nominal_voltage_v,
        owner_id=owner_id,
        actor=actor,
    ).id


@attrs.define
class OrderScript:
    """One repair order driven stage by stage through the use cases.

    Each stage is one use case per step, with the standard order's values unless told
    otherwise; ``advisor`` writes what the advisor writes, the owner approves. Stages return
    the script, so a test reads as the order's story::

        order = OrderScript.open(w, vehicle_id=v, customer_id=c, advisor=ADVISOR)
        order.quote().approve().isolate_hv(tech).labour("hv-pump", tech).pass_quality_check()
    """

    workshop: Workshop
    id: UUID
    customer_id: UUID
    advisor: Actor
    quoted: list[str] = attrs.field(factory=list)

    @classmethod
    def open(
        cls,
        w: Workshop,
        *,
        vehicle_id: UUID,
        customer_id: UUID,
        advisor: Actor,
        concerns: Sequence[str] = CONCERNS,
        odometer_in_km: int = 48_000,
        soc_in_pct: Decimal | None = Decimal("70"),
        promised_at: datetime | None = None,
        repair_order_id: UUID | None = None,
    ) -> OrderScript:
        rid = w.open_repair_order(
            vehicle_id=vehicle_id,
            customer_id=customer_id,
            concerns=list(concerns),
            odometer_in_km=odometer_in_km,
            soc_in_pct=soc_in_pct,
            promised_at=promised_at,
            actor=advisor,
            repair_order_id=repair_order_id,
        ).id
        return cls(w, rid, customer_id, advisor)

    def add_jobs(self, *jobs: Job) -> OrderScript:
        for job in jobs:
            self.workshop.add_job(
                self.id,
                job_id=job.job_id,
                title=job.title,
                labour=list(job.labour),
                parts=list(job.parts),
                hv_work=job.hv_work,
                required_hv_level=job.required_hv_level,
                actor=self.advisor,
            )
            self.quoted.append(job.job_id)
        return self

    def quote(self, *jobs: Job) -> OrderScript:
        """Adds the jobs (the standard two when none are given) and sends the quote."""
        return self.add_jobs(*(jobs or STANDARD_JOBS)).send_quote()

    def send_quote(self) -> OrderScript:
        self.workshop.send_quote(self.id, actor=self.advisor)
        return self

    def approve(
        self,
        *job_ids: str,
        channel: ApprovalChannel = ApprovalChannel.PORTAL,
        client_ip: str | None = CLIENT_IP,
        actor: Actor | None = None,
    ) -> OrderScript:
        """Approves the jobs (every quoted one when none are named), by the owner by default."""
        for job_id in job_ids or tuple(self.quoted):
            self.workshop.approve_job(
                self.id,
                job_id=job_id,
                channel=channel,
                client_ip=client_ip,
                actor=actor or customer_actor(self.customer_id),
            )
        return self

    def assign(self, job_id: str, staff_id: UUID) -> OrderScript:
        self.workshop.assign_technician(
            self.id, job_id=job_id, staff_id=staff_id, actor=self.advisor
        )
        return self

    def isolate_hv(
        self,
        technician_id: UUID,
        *,
        residual_voltage_v: Decimal = Decimal("2"),
        lock_tag_id: str = "LOTO-1",
        ppe_checked: bool = True,
    ) -> OrderScript:
        self.workshop.isolate_hv(
            self.id,
            technician_id=technician_id,
            residual_voltage_v=residual_voltage_v,
            lock_tag_id=lock_tag_id,
            ppe_checked=ppe_checked,
            actor=technician(technician_id),
        )
        return self

    def clock_on(self, job_id: str, technician_id: UUID) -> OrderScript:
        self.workshop.clock_on(
            self.id, job_id=job_id, technician_id=technician_id, actor=technician(technician_id)
        )
        return self

    def clock_off(self, job_id: str, technician_id: UUID) -> OrderScript:
        self.workshop.clock_off(
            self.id, job_id=job_id, technician_id=technician_id, actor=technician(technician_id)
        )
        return self

    def complete(self, job_id: str, technician_id: UUID) -> OrderScript:
        self.workshop.complete_job(self.id, job_id=job_id, actor=technician(technician_id))
        return self

    def labour(
        self, job_id: str, technician_id: UUID, *, during: Callable[[], object] | None = None
    ) -> OrderScript:
        """Clocks on, (``during``: e.g. the clock moving on), clocks off and completes."""
        self.clock_on(job_id, technician_id)
        if during is not None:
            during()
        return self.clock_off(job_id, technician_id).complete(job_id, technician_id)

    def restore_hv(self, technician_id: UUID) -> OrderScript:
        self.workshop.restore_hv(
            self.id, technician_id=technician_id, actor=technician(technician_id)
        )
        return self

    def pass_quality_check(
        self, *, notes: str | None = None, by: Actor | None = None
    ) -> OrderScript:
        self.workshop.pass_quality_check(self.id, notes=notes, actor=by or self.advisor)
        return self

    def invoice(self) -> OrderScript:
        self.workshop.invoice_repair_order(self.id, actor=self.advisor)
        return self

    def pay(
        self, *, method: PaymentMethod = PaymentMethod.CARD, reference: str | None = "PIN"
    ) -> OrderScript:
        """Pays the invoice's total."""
        total = self.workshop.get_repair_order(self.id).total
        self.workshop.record_payment(
            self.id, amount=total, method=method, reference=reference, actor=self.advisor
        )
        return self

    def hand_over(
        self, *, odometer_out_km: int = 48_010, soc_out_pct: Decimal | None = Decimal("68")
    ) -> OrderScript:
        self.workshop.release_vehicle(
            self.id, odometer_out_km=odometer_out_km, soc_out_pct=soc_out_pct, actor=self.advisor
        )
        return self


# ---------------------------------------------------------------------------------------------
# on the bare aggregate, in memory
# ---------------------------------------------------------------------------------------------


class AdvancingClock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime: ...


def closed_order(clock: AdvancingClock, advisor: Actor) -> RepairOrder:
    """The standard order from opening to hand-over on a new aggregate (about 20 events, not
    saved), for a new random vehicle, owner and level-3 technician; ``clock`` moves on as the
    work would (5 minutes to approval, 75 per job)."""
    tech = uuid4()
    tech_actor = technician(tech)
    o = RepairOrder.open(
        vehicle_id=uuid4(),
        customer_id=uuid4(),
        concerns=["Coolant warning", "Noise from rear axle"],
        odometer_in_km=48_000,
        soc_in_pct=D("70"),
        promised_at=clock.now() + timedelta(days=1),
        currency="EUR",
        actor=advisor,
    )
    for job in STANDARD_JOBS:
        o.add_job(
            job_id=job.job_id,
            title=job.title,
            labour=list(job.labour),
            parts=list(job.parts),
            hv_work=job.hv_work,
            required_hv_level=job.required_hv_level,
            actor=advisor,
        )
    o.send_quote(actor=advisor)
    now = clock.advance(timedelta(minutes=5))
    for job in STANDARD_JOBS:
        o.approve_job(
            job_id=job.job_id,
            channel=ApprovalChannel.PORTAL,
            client_ip=CLIENT_IP,
            at=now,
            actor=customer_actor(o.customer_id),
        )
    o.assign_technician(job_id=HV_PUMP.job_id, staff_id=tech, hv_level=3, actor=advisor)
    o.isolate_hv(
        technician_id=tech,
        technician_hv_level=3,
        residual_voltage_v=D("2"),
        lock_tag_id="LOTO-1",
        ppe_checked=True,
        at=now,
        actor=tech_actor,
    )
    for job in STANDARD_JOBS:
        o.clock_on(
            job_id=job.job_id, technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor
        )
        now = clock.advance(timedelta(minutes=75))
        o.clock_off(job_id=job.job_id, technician_id=tech, at=now, actor=tech_actor)
        o.complete_job(job_id=job.job_id, actor=tech_actor)
    o.restore_hv(technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor)
    o.pass_quality_check(notes=None, actor=advisor)
    o.invoice(invoice_number=f"INV-{o.id.hex[:8]}", tax_rate=D("0.21"), at=now, actor=advisor)
    o.record_payment(
        amount=o.total, method=PaymentMethod.CARD, reference="PIN", at=now, actor=advisor
    )
    o.release(odometer_out_km=48_010, soc_out_pct=D("68"), at=now, actor=advisor)
    return o


def fill_log(
    w: Workshop,
    clock: AdvancingClock,
    target: int,
    *,
    advisor: Actor,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Saves closed orders, one transaction each, until at least ``target`` events are in the
    log; returns the events written (``progress`` is told the running total)."""
    written = 0
    while written < target:
        written += len(w.save(closed_order(clock, advisor)))
        if progress is not None:
            progress(written)
    return written


def attach_photo(
    workshop: Workshop,
    *,
    inspection_id: UUID | None = None,
    repair_order_id: UUID | None = None,
    data: bytes,
    file_name: str,
    actor: Actor,
    item_code: str | None = None,
    media_id: UUID | None = None,
    content_type: str = "image/jpeg",
) -> Receipt:
    """A photo through the same flow a browser uses: a ticket, the bytes stored where it
    says (as the browser's upload does), then the confirm that checks and attaches them."""
    import hashlib

    media = workshop.media
    if media is None:
        raise RuntimeError("this workshop has no media storage")
    by = InProcess(actor)
    sha256 = hashlib.sha256(data).hexdigest()
    request: commands.Command
    if inspection_id is not None:
        request = commands.RequestInspectionMediaUpload(
            inspection_id=inspection_id,
            item_code=item_code,
            file_name=file_name,
            content_type=content_type,
            size=len(data),
            sha256=sha256,
            media_id=media_id,
        )
    elif repair_order_id is not None:
        request = commands.RequestRepairOrderMediaUpload(
            repair_order_id=repair_order_id,
            file_name=file_name,
            content_type=content_type,
            size=len(data),
            sha256=sha256,
            media_id=media_id,
        )
    else:
        raise TypeError("name the inspection or the repair order")
    issued = workshop.execute(request, by).result
    if not isinstance(issued, IssuedUpload):
        raise TypeError("an upload request returns its ticket")
    media.storage.put(issued.ticket.key, data, content_type=content_type)
    confirm: commands.Command = (
        commands.ConfirmInspectionMedia(inspection_id=inspection_id, media_id=issued.media_id)
        if inspection_id is not None
        else commands.ConfirmRepairOrderMedia(
            repair_order_id=repair_order_id,  # type: ignore[arg-type]
            media_id=issued.media_id,
        )
    )
    return workshop.execute(confirm, by)
