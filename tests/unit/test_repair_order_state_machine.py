"""Random command sequences against one repair order; the invariants must hold after every step.

Hypothesis drives every command with random (often wrong) arguments. A command the domain
refuses must raise a ``DomainError`` and leave the order exactly as it was; anything else it
raises fails the test. After each step the machine checks the order's invariants and that
replaying every event recorded so far rebuilds the same state.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from regenzet.domain.common import Actor, DomainError, InvalidStateError, Role, money
from regenzet.domain.repair_order import (
    HV_SAFE_RESIDUAL_VOLTAGE,
    MIN_ISOLATION_LEVEL,
    ApprovalChannel,
    JobStatus,
    LabourLine,
    PartLine,
    PartRequestLine,
    PaymentMethod,
    RepairOrder,
    RepairOrderStatus,
)

ADVISOR = Actor("advisor-1", Role.ADVISOR)
CUSTOMER = Actor("customer-1", Role.CUSTOMER)
TECH = Actor("tech-1", Role.TECHNICIAN)
MANAGER = Actor("manager-1", Role.MANAGER)
ACTORS = [ADVISOR, CUSTOMER, TECH, MANAGER]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ODOMETER_IN = 48_000

JOB_IDS = ["j1", "j2", "j3", "j4"]
TECHNICIANS = [UUID(int=n) for n in range(1, 5)]
REQUEST_IDS = ["r1", "r2", "r3"]

levels = st.integers(min_value=0, max_value=3)
# Skewed towards qualified technicians so HV work actually happens in most runs.
working_levels = st.sampled_from([3, 3, 2]) | levels
technicians = st.sampled_from(TECHNICIANS)
actors = st.sampled_from(ACTORS)
minutes = st.integers(min_value=-30, max_value=300)
residual_voltages = st.sampled_from(
    [Decimal("0"), Decimal("3.2"), Decimal("59.9"), Decimal("60"), Decimal("60.1")]
) | st.decimals(min_value=0, max_value=1000, places=1)
# Two in three safe: enough isolations succeed for HV work to happen in many runs.
mostly_safe_residuals = st.sampled_from(
    [Decimal(v) for v in ("0", "0.4", "3.2", "59.9", "60", "75.5")]
)
tax_rates = st.sampled_from([Decimal("0"), Decimal("0.09"), Decimal("0.21"), Decimal("2")])
labour_lines = st.lists(
    st.tuples(
        st.decimals(min_value=0, max_value=12, places=2),  # 0 is refused by the line itself
        st.sampled_from([Decimal("0"), Decimal("85"), Decimal("95.50")]),
    ),
    max_size=2,
)
part_lines = st.lists(
    st.tuples(
        st.decimals(min_value=1, max_value=4, places=0),
        st.sampled_from([Decimal("0"), Decimal("59.90"), Decimal("389.00")]),
    ),
    max_size=2,
)
payments = st.sampled_from(["balance", "balance", "over"]) | st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("1500"), places=2
)


def order_state(order: RepairOrder) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(order).items() if k != "_pending_events"})


class RepairOrderMachine(RuleBasedStateMachine):
    """One repair order and every event it has recorded so far."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.now = T0
        self.order: RepairOrder

    # -- plumbing -----------------------------------------------------------------------------

    def attempt(self, command: Callable[[], object]) -> bool:
        """Runs a command; a refusal must be a DomainError that changed nothing."""
        before = order_state(self.order)
        refusal: DomainError | None = None
        try:
            command()
        except DomainError as error:  # anything else propagates and fails the test
            refusal = error
        if refusal is None:
            self.events.extend(self.order.collect_events())
            return True
        if isinstance(refusal, InvalidStateError):
            assert refusal.current_state == self.order.status.value
        assert order_state(self.order) == before, "a refused command changed the order"
        assert not self.order.pending_events, "a refused command recorded an event"
        return False

    def job_ids(self, *likely: JobStatus) -> st.SearchStrategy[str]:
        """Mostly jobs in the statuses where the command can succeed, sometimes any id."""
        anything = st.sampled_from(JOB_IDS)
        existing = sorted(self.order.jobs)
        if not existing:
            return anything
        matching = [j for j in existing if self.order.jobs[j].status in likely]
        if matching:
            return st.sampled_from(matching) | st.sampled_from(existing) | anything
        return st.sampled_from(existing) | anything

    def later(self, delta_minutes: int) -> datetime:
        at = self.now + timedelta(minutes=delta_minutes)
        self.now = max(self.now, at)
        return at

    # -- rules --------------------------------------------------------------------------------

    @initialize(
        soc=st.none() | st.decimals(min_value=0, max_value=100, places=0),
        head_start=st.integers(min_value=0, max_value=14),
        data=st.data(),
    )
    def open_order(self, soc: Decimal | None, head_start: int, data: st.DataObject) -> None:
        """Opens the order and takes a random number of sensible steps, so that the random
        commands start from every stage of an order's life, not mostly from the first ones."""
        self.order = RepairOrder.open(
            vehicle_id=UUID(int=100),
            customer_id=UUID(int=200),
            concerns=["Coolant warning"],
            odometer_in_km=ODOMETER_IN,
            soc_in_pct=soc,
            promised_at=None,
            currency="EUR",
            actor=ADVISOR,
        )
        self.events.extend(self.order.collect_events())
        for _ in range(head_start):
            self.sensible_step(data)

    @rule(inspection=st.sampled_from([UUID(int=300), UUID(int=301)]))
    def link_inspection(self, inspection: UUID) -> None:
        self.attempt(lambda: self.order.link_inspection(inspection_id=inspection, actor=TECH))

    def _job_command(
        self,
        data: st.DataObject,
        method: Callable[..., None],
        job_id: str,
    ) -> None:
        hv_work = data.draw(st.booleans(), label="hv_work")
        level = data.draw(st.none() | levels, label="required_hv_level")
        labour = data.draw(labour_lines, label="labour")
        parts = data.draw(part_lines, label="parts")

        def command() -> None:
            method(
                job_id=job_id,
                title=f"Job {job_id}",
                labour=[LabourLine("Labour", h, r) for h, r in labour],
                parts=[PartLine("P-1", "Part", q, p) for q, p in parts],
                hv_work=hv_work,
                required_hv_level=level,
                actor=ADVISOR,
            )

        self.attempt(command)

    @rule(data=st.data(), job_id=st.sampled_from(JOB_IDS))
    def add_job(self, data: st.DataObject, job_id: str) -> None:
        self._job_command(data, self.order.add_job, job_id)

    @rule(data=st.data())
    def revise_job(self, data: st.DataObject) -> None:
        job_id = data.draw(self.job_ids(), label="job_id")
        self._job_command(data, self.order.revise_job, job_id)

    @rule(data=st.data())
    def remove_job(self, data: st.DataObject) -> None:
        job_id = data.draw(self.job_ids(), label="job_id")
        self.attempt(lambda: self.order.remove_job(job_id=job_id, actor=ADVISOR))

    @rule()
    def send_quote(self) -> None:
        self.attempt(lambda: self.order.send_quote(actor=ADVISOR))

    @rule(data=st.data(), channel=st.sampled_from(ApprovalChannel))
    def approve_job(self, data: st.DataObject, channel: ApprovalChannel) -> None:
        job_id = data.draw(self.job_ids(JobStatus.QUOTED, JobStatus.DECLINED), label="job_id")
        self.attempt(
            lambda: self.order.approve_job(
                job_id=job_id, channel=channel, client_ip="192.0.2.1", at=self.now, actor=CUSTOMER
            )
        )

    @rule(data=st.data(), reason=st.none() | st.just("too expensive"))
    def decline_job(self, data: st.DataObject, reason: str | None) -> None:
        job_id = data.draw(self.job_ids(JobStatus.QUOTED), label="job_id")
        self.attempt(
            lambda: self.order.decline_job(
                job_id=job_id,
                channel=ApprovalChannel.PHONE,
                client_ip=None,
                at=self.now,
                reason=reason,
                actor=ADVISOR,
            )
        )

    @rule(data=st.data(), technician=technicians, level=working_levels)
    def assign_technician(self, data: st.DataObject, technician: UUID, level: int) -> None:
        job_id = data.draw(self.job_ids(JobStatus.APPROVED), label="job_id")
        self.attempt(
            lambda: self.order.assign_technician(
                job_id=job_id, staff_id=technician, hv_level=level, actor=ADVISOR
            )
        )

    @rule(
        technician=technicians,
        level=working_levels,
        residual=residual_voltages,
        ppe=st.booleans(),
        delta=minutes,
    )
    def isolate_hv(
        self, technician: UUID, level: int, residual: Decimal, ppe: bool, delta: int
    ) -> None:
        at = self.later(delta)
        self.attempt(
            lambda: self.order.isolate_hv(
                technician_id=technician,
                technician_hv_level=level,
                residual_voltage_v=residual,
                lock_tag_id="LOTO-1",
                ppe_checked=ppe,
                at=at,
                actor=TECH,
            )
        )

    @rule(technician=technicians, level=working_levels, delta=minutes)
    def restore_hv(self, technician: UUID, level: int, delta: int) -> None:
        at = self.later(delta)
        self.attempt(
            lambda: self.order.restore_hv(
                technician_id=technician, technician_hv_level=level, at=at, actor=TECH
            )
        )

    @rule(data=st.data(), level=working_levels, delta=minutes)
    def clock_on(self, data: st.DataObject, level: int, delta: int) -> None:
        job_id = data.draw(self.job_ids(JobStatus.APPROVED), label="job_id")
        busy = [UUID(t) for t in sorted(self.order.clocked_on)]
        # Often someone already on a job: the double clock-on is the thing to refuse.
        technician = data.draw(
            (st.sampled_from(busy) | technicians) if busy else technicians, label="technician"
        )
        at = self.later(delta)
        self.attempt(
            lambda: self.order.clock_on(
                job_id=job_id,
                technician_id=technician,
                technician_hv_level=level,
                at=at,
                actor=TECH,
            )
        )

    @rule(data=st.data(), delta=minutes)
    def clock_off(self, data: st.DataObject, delta: int) -> None:
        on = sorted(self.order.clocked_on.items())
        pairs = st.tuples(technicians, self.job_ids(JobStatus.APPROVED))
        technician_id, job_id = data.draw(
            (st.sampled_from(on) | pairs) if on else pairs, label="technician, job"
        )
        technician = technician_id if isinstance(technician_id, UUID) else UUID(technician_id)
        at = self.later(delta)
        self.attempt(
            lambda: self.order.clock_off(job_id=job_id, technician_id=technician, at=at, actor=TECH)
        )

    @rule(data=st.data(), request_id=st.sampled_from(REQUEST_IDS))
    def request_parts(self, data: st.DataObject, request_id: str) -> None:
        job_id = data.draw(self.job_ids(JobStatus.APPROVED), label="job_id")
        quantity = data.draw(st.decimals(min_value=0, max_value=3, places=0), label="qty")
        self.attempt(
            lambda: self.order.request_parts(
                request_id=request_id,
                job_id=job_id,
                lines=[PartRequestLine("P-1", "Part", quantity)],
                actor=TECH,
            )
        )

    @rule(request_id=st.sampled_from(REQUEST_IDS))
    def receive_parts(self, request_id: str) -> None:
        self.attempt(lambda: self.order.receive_parts(request_id=request_id, actor=TECH))

    @rule(data=st.data())
    def complete_job(self, data: st.DataObject) -> None:
        job_id = data.draw(self.job_ids(JobStatus.APPROVED), label="job_id")
        self.attempt(lambda: self.order.complete_job(job_id=job_id, actor=TECH))

    @rule(notes=st.none() | st.just("leak test ok"))
    def pass_quality_check(self, notes: str | None) -> None:
        self.attempt(lambda: self.order.pass_quality_check(notes=notes, actor=MANAGER))

    @rule(job_ids=st.lists(st.sampled_from(JOB_IDS), max_size=2))
    def fail_quality_check(self, job_ids: list[str]) -> None:
        self.attempt(
            lambda: self.order.fail_quality_check(
                reason="redo", job_ids=list(job_ids), actor=MANAGER
            )
        )

    @rule(tax_rate=tax_rates)
    def invoice(self, tax_rate: Decimal) -> None:
        self.attempt(
            lambda: self.order.invoice(
                invoice_number="INV-1", tax_rate=tax_rate, at=self.now, actor=ADVISOR
            )
        )

    @rule(amount=payments, method=st.sampled_from(PaymentMethod))
    def record_payment(self, amount: Decimal | str, method: PaymentMethod) -> None:
        if amount == "balance":
            value = self.order.balance
        elif amount == "over":
            value = self.order.balance + Decimal("0.01")
        else:
            assert isinstance(amount, Decimal)
            value = amount
        self.attempt(
            lambda: self.order.record_payment(
                amount=value, method=method, reference=None, at=self.now, actor=ADVISOR
            )
        )

    @rule(extra_km=st.integers(min_value=-5, max_value=50), soc=st.none() | st.just(Decimal(80)))
    def release(self, extra_km: int, soc: Decimal | None) -> None:
        self.attempt(
            lambda: self.order.release(
                odometer_out_km=ODOMETER_IN + extra_km, soc_out_pct=soc, at=self.now, actor=ADVISOR
            )
        )

    # Mostly a blank reason (refused): a successful cancel ends the interesting part of a run.
    @rule(reason=st.sampled_from(["customer withdrew", *[" ", "", "\t"] * 2]))
    def cancel(self, reason: str) -> None:
        self.attempt(lambda: self.order.cancel(reason=reason, actor=ADVISOR))

    @rule(data=st.data())
    def take_the_next_sensible_step(self, data: st.DataObject) -> None:
        self.sensible_step(data)

    def sensible_step(self, data: st.DataObject) -> None:
        """The step an advisor would take next, with some of its arguments still random (a
        skipped or botched isolation, an underqualified technician, a declined job).

        Random commands alone rarely get a car through quote, approval, work, quality check
        and invoice within one run; this step does, so the invariants about HV work, invoices,
        payments and closing are exercised on the main path and not only at its start.
        """
        order, jobs = self.order, self.order.jobs
        by_status = {s: [j for j in sorted(jobs) if jobs[j].status is s] for s in JobStatus}
        command: Callable[[], object]
        adding = order.status in (RepairOrderStatus.OPEN, RepairOrderStatus.INSPECTING)
        if order.status is RepairOrderStatus.QUOTING and len(jobs) < 2:
            adding = data.draw(st.booleans(), label="another job")  # so some jobs get declined
        if adding or not jobs:
            command = partial(
                order.add_job,
                job_id=data.draw(st.sampled_from(JOB_IDS), label="job_id"),
                title="Job",
                labour=[LabourLine("Labour", Decimal("1.5"), Decimal("95.50"))],
                parts=[PartLine("P-1", "Part", Decimal("1"), Decimal("59.90"))],
                hv_work=data.draw(st.booleans(), label="hv_work"),
                required_hv_level=None,
                actor=ADVISOR,
            )
        elif by_status[JobStatus.PROPOSED]:
            command = partial(order.send_quote, actor=ADVISOR)
        elif by_status[JobStatus.QUOTED] or order.status is RepairOrderStatus.AWAITING_APPROVAL:
            # Quoted jobs first; with only declined jobs left, the customer changes their mind.
            job_id = (by_status[JobStatus.QUOTED] or by_status[JobStatus.DECLINED] or JOB_IDS)[0]
            declines = data.draw(st.sampled_from([False, False, True]), label="decline")
            decide = order.decline_job if declines else order.approve_job
            extra = {"reason": None} if declines else {}
            command = partial(
                decide,
                job_id=job_id,
                channel=ApprovalChannel.PORTAL,
                client_ip=None,
                at=self.now,
                actor=CUSTOMER,
                **extra,
            )
        elif order.clocked_on:
            # Usually clock off (sometimes at a time before clocking on); now and then try
            # what must be refused while someone works: re-energising, or cancelling.
            move = data.draw(st.sampled_from(["off", "off", "off", "restore", "cancel"]))
            technician, job_id = sorted(order.clocked_on.items())[0]
            if move == "restore":
                command = partial(
                    order.restore_hv,
                    technician_id=TECHNICIANS[0],
                    technician_hv_level=3,
                    at=self.now,
                    actor=TECH,
                )
            elif move == "cancel":
                command = partial(order.cancel, reason="customer withdrew", actor=ADVISOR)
            else:
                command = partial(
                    order.clock_off,
                    job_id=job_id,
                    technician_id=UUID(technician),
                    at=self.later(data.draw(minutes, label="minutes worked")),
                    actor=TECH,
                )
        elif order.outstanding_part_requests:
            request_id = order.outstanding_part_requests[0]
            command = partial(order.receive_parts, request_id=request_id, actor=TECH)
        elif by_status[JobStatus.APPROVED]:
            job = jobs[by_status[JobStatus.APPROVED][0]]
            skip_isolation = data.draw(st.sampled_from([False, False, False, True]), label="skip")
            if job.hv_work and not order.hv_isolated and not skip_isolation:
                command = partial(
                    order.isolate_hv,
                    technician_id=data.draw(technicians, label="isolator"),
                    technician_hv_level=data.draw(st.sampled_from([2, 3, 3, 1]), label="level"),
                    residual_voltage_v=data.draw(mostly_safe_residuals, label="residual"),
                    lock_tag_id="LOTO-1",
                    ppe_checked=data.draw(st.sampled_from([True, True, True, False]), label="ppe"),
                    at=self.now,
                    actor=TECH,
                )
            elif job.clocked_hours == 0:
                command = partial(
                    order.clock_on,
                    job_id=job.job_id,
                    technician_id=data.draw(technicians, label="technician"),
                    technician_hv_level=data.draw(working_levels, label="level"),
                    at=self.later(5),
                    actor=TECH,
                )
            else:
                command = partial(order.complete_job, job_id=job.job_id, actor=TECH)
        elif order.status is RepairOrderStatus.QUALITY_CHECK and not order.qc_passed:
            command = partial(order.pass_quality_check, notes=None, actor=MANAGER)
        elif order.status is RepairOrderStatus.QUALITY_CHECK:
            command = partial(
                order.invoice,
                invoice_number="INV-1",
                tax_rate=data.draw(tax_rates, label="tax_rate"),
                at=self.now,
                actor=ADVISOR,
            )
        elif order.hv_isolated and data.draw(st.integers(0, 3), label="forgetful") > 0:
            command = partial(
                order.restore_hv,
                technician_id=TECHNICIANS[0],
                technician_hv_level=data.draw(working_levels, label="restorer level"),
                at=self.now,
                actor=TECH,
            )
        elif (
            order.status is RepairOrderStatus.READY_FOR_PICKUP
            and not order.released
            and (order.balance == 0 or data.draw(st.booleans(), label="release first"))
        ):
            command = partial(
                order.release,
                odometer_out_km=ODOMETER_IN,
                soc_out_pct=None,
                at=self.now,
                actor=ADVISOR,
            )
        else:
            command = partial(
                order.record_payment,
                amount=order.balance,
                method=PaymentMethod.CARD,
                reference=None,
                at=self.now,
                actor=ADVISOR,
            )
        self.attempt(command)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def hv_work_only_under_a_safe_isolation_by_qualified_technicians(self) -> None:
        order = self.order
        levels_at_clock_on = {
            str(e.technician_id): e.technician_hv_level
            for e in self.events
            if type(e).__name__ == "LabourClockedOn"
        }
        for technician, job_id in order.clocked_on.items():
            job = order.jobs[job_id]
            assert job.status is JobStatus.APPROVED
            assert levels_at_clock_on[technician] >= job.required_hv_level
            if job.hv_work:
                assert order.hv_isolated
                assert order.isolation is not None
                assert order.isolation["residual_voltage_v"] < HV_SAFE_RESIDUAL_VOLTAGE
                assert order.isolation["technician_hv_level"] >= MIN_ISOLATION_LEVEL

    @invariant()
    def every_isolation_recorded_was_safe(self) -> None:
        isolations = [e for e in self.events if type(e).__name__ == "HighVoltageIsolated"]
        for e in isolations:
            assert e.residual_voltage_v < HV_SAFE_RESIDUAL_VOLTAGE
            assert e.technician_hv_level >= MIN_ISOLATION_LEVEL
            assert e.ppe_checked is True
        for e in self.events:
            if type(e).__name__ == "HighVoltageRestored":
                assert e.technician_hv_level >= MIN_ISOLATION_LEVEL
        if self.order.hv_isolated:
            assert self.order.isolation is not None
            assert self.order.isolation["ppe_checked"] is True

    @invariant()
    def clocked_hours_are_computed_from_the_clock_times(self) -> None:
        hours: Counter[str] = Counter()
        for e in self.events:
            if type(e).__name__ == "LabourClockedOff":
                elapsed = e.clocked_off_at - e.clocked_on_at
                assert elapsed.total_seconds() >= 0
                assert e.hours == money(Decimal(elapsed.total_seconds()) / 3600)
                hours[e.job_id] += e.hours
        for job in self.order.jobs.values():
            assert job.clocked_hours == hours[job.job_id]

    @invariant()
    def nothing_about_jobs_changes_after_invoicing(self) -> None:
        names = [type(e).__name__ for e in self.events]
        if "Invoiced" in names:
            after = names[names.index("Invoiced") + 1 :]
            assert set(after) <= {"PaymentRecorded", "Released", "HighVoltageRestored"}, after

    @invariant()
    def no_technician_is_clocked_on_two_jobs(self) -> None:
        open_sessions: Counter[str] = Counter()
        for e in self.events:
            name = type(e).__name__
            if name == "LabourClockedOn":
                open_sessions[str(e.technician_id)] += 1
                assert open_sessions[str(e.technician_id)] == 1
            elif name == "LabourClockedOff":
                open_sessions[str(e.technician_id)] -= 1
                assert open_sessions[str(e.technician_id)] == 0
        assert {t for t, n in open_sessions.items() if n} == set(self.order.clocked_on)

    @invariant()
    def invoice_is_computed_from_completed_jobs_only(self) -> None:
        order = self.order
        if order.invoice_number is None:
            assert order.invoice_lines == []
            assert (order.subtotal, order.tax, order.total, order.paid) == (0, 0, 0, 0)
            return
        assert order.qc_passed  # only a passed quality check is invoiced
        assert order.subtotal == sum((line.amount for line in order.invoice_lines), Decimal(0))
        assert order.tax_rate is not None
        assert order.tax == (order.subtotal * order.tax_rate).quantize(Decimal("0.01"))
        assert order.total == order.subtotal + order.tax
        # Nothing about jobs changes after invoicing, so the jobs still show what was billed.
        completed = [j for j in order.jobs.values() if j.status is JobStatus.COMPLETED]
        assert order.invoice_lines == [line for j in completed for line in j.invoice_lines()]
        billed = {line.job_id for line in order.invoice_lines}
        for job_id in billed:
            job = order.jobs[job_id]
            assert job.status is JobStatus.COMPLETED
            assert job.approved_by is not None  # completed only after approval
        declined = {j.job_id for j in order.jobs.values() if j.status is JobStatus.DECLINED}
        assert not billed & declined

    @invariant()
    def payments_never_exceed_the_total(self) -> None:
        order = self.order
        assert 0 <= order.paid <= order.total
        assert order.paid == sum((p["amount"] for p in order.payments), Decimal(0))

    @invariant()
    def closed_means_paid_in_full_and_released(self) -> None:
        order = self.order
        if order.status is RepairOrderStatus.CLOSED:
            assert order.paid == order.total
            assert order.released
        if order.released and order.paid == order.total:
            assert order.status is RepairOrderStatus.CLOSED

    @invariant()
    def released_and_cancelled_orders_have_hv_restored(self) -> None:
        order = self.order
        if order.released or order.status is RepairOrderStatus.CANCELLED:
            assert not order.hv_isolated
        assert order.hv_isolated == (order.isolation is not None)
        if order.status in (RepairOrderStatus.CANCELLED, RepairOrderStatus.CLOSED):
            assert order.clocked_on == {}

    @invariant()
    def work_states_follow_the_jobs_and_parts(self) -> None:
        order = self.order
        if order.outstanding_part_requests and order.status in (
            RepairOrderStatus.IN_PROGRESS,
            RepairOrderStatus.WAITING_FOR_PARTS,
        ):
            assert order.status is RepairOrderStatus.WAITING_FOR_PARTS
        if order.status is RepairOrderStatus.QUALITY_CHECK:
            assert order.work_is_done()
        if order.status is RepairOrderStatus.IN_PROGRESS:
            assert not order.work_is_done()  # finished work moves on to the quality check
        for job in order.jobs.values():
            if job.hv_work:
                assert job.required_hv_level >= MIN_ISOLATION_LEVEL
            if job.status in (JobStatus.APPROVED, JobStatus.COMPLETED):
                assert job.approved_by is not None
                assert job.quoted_in is not None
                assert job.declined_by is None
            if job.status is JobStatus.DECLINED:
                assert job.declined_by is not None

    @invariant()
    def only_qualified_technicians_are_assigned(self) -> None:
        for e in self.events:
            if type(e).__name__ == "TechnicianAssigned":
                # Approved jobs cannot be revised, so the job's level is the level at the time.
                assert e.hv_level >= self.order.jobs[e.job_id].required_hv_level

    @invariant()
    def every_event_records_an_actor(self) -> None:
        assert all(e.actor in ACTORS for e in self.events)

    @invariant()
    def replaying_the_events_rebuilds_the_same_order(self) -> None:
        replayed: Any = None
        for e in self.events:
            replayed = e.mutate(replayed)
        assert order_state(replayed) == order_state(self.order)


TestRepairOrderStateMachine = RepairOrderMachine.TestCase
TestRepairOrderStateMachine.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
