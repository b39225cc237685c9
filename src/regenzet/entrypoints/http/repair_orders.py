"""Repair orders: the job lifecycle from quote to release, with HV safety and labour clocking.

Technicians act in their own name: the technician recorded on isolation, clocking and
restoring is the token's staff id, never a field of the body. Customers may only approve or
decline jobs on their own orders, and only through the portal channel.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application.identity import Principal
from regenzet.application.views import RepairOrderView
from regenzet.domain.common import Role, fail
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PartRequestLine,
)
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    Caller,
    Services,
    WritesDep,
    command,
    query,
    viewed,
)
from regenzet.entrypoints.http.schemas import (
    AddJob,
    ApproveJob,
    AssignTechnician,
    Cancel,
    CommandResult,
    DeclineJob,
    FailQualityCheck,
    IsolateHv,
    JobSpec,
    OpenRepairOrder,
    PassQualityCheck,
    RecordPayment,
    ReleaseVehicle,
    RequestParts,
)
from regenzet.entrypoints.http.security import own_staff_id

JobId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
RO = "/{repair_order_id:uuid}"


def _lines(spec: JobSpec) -> tuple[list[LabourLine], list[PartLine]]:
    labour = [LabourLine(line.description, line.hours, line.rate) for line in spec.labour]
    parts = [
        PartLine(line.part_number, line.description, line.quantity, line.unit_price)
        for line in spec.parts
    ]
    return labour, parts


def _channel(principal: Principal, requested: ApprovalChannel | None) -> ApprovalChannel:
    """Customers decide in the portal; staff record the channel the customer used."""
    if principal.role is Role.CUSTOMER:
        if requested not in (None, ApprovalChannel.PORTAL):
            fail("channel", "customers approve and decline in the portal")
        return ApprovalChannel.PORTAL
    if requested is None or requested is ApprovalChannel.PORTAL:
        fail("channel", "staff must say how the customer decided: phone, in_person or email")
    if requested is ApprovalChannel.EMAIL_LINK:
        fail("channel", "email_link is recorded only by the emailed approval link itself")
    return requested


class RepairOrderController(Controller):
    path = f"{API_PREFIX}/repair-orders"
    tags = ["repair orders"]

    @command("/", "openRepairOrder", "Open a repair order for a customer's vehicle", create=True)
    def open(
        self, data: JSONBody[OpenRepairOrder], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda _: services.workshop.open_repair_order(
                vehicle_id=data.vehicle_id,
                customer_id=data.customer_id,
                concerns=data.concerns,
                odometer_in_km=data.odometer_in_km,
                soc_in_pct=data.soc_in_pct,
                promised_at=data.promised_at,
                actor=actor,
            ),
            location=lambda r: f"{API_PREFIX}/repair-orders/{r.id}",
        )

    @query(RO, "getRepairOrder", "A repair order with its jobs, labour, invoice and payments")
    def get(
        self, repair_order_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[RepairOrderView]:
        services.access.repair_order(principal, repair_order_id)
        view = services.workshop.get_repair_order(repair_order_id)
        return viewed(view, view.version)

    @command(f"{RO}/jobs", "addJob", "Add a job (labour and parts) to the quote")
    def add_job(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[AddJob],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        labour, parts = _lines(data)
        return writes.run(
            data,
            lambda version: services.workshop.add_job(
                repair_order_id,
                job_id=data.job_id,
                title=data.title,
                labour=labour,
                parts=parts,
                hv_work=data.hv_work,
                required_hv_level=data.required_hv_level,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}", "reviseJob", "Revise a job's quote", method="PUT")
    def revise_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[JobSpec],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        labour, parts = _lines(data)
        return writes.run(
            data,
            lambda version: services.workshop.revise_job(
                repair_order_id,
                job_id=job_id,
                title=data.title,
                labour=labour,
                parts=parts,
                hv_work=data.hv_work,
                required_hv_level=data.required_hv_level,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(
        f"{RO}/jobs/{{job_id:str}}", "removeJob", "Remove a job from the quote", method="DELETE"
    )
    def remove_job(
        self, repair_order_id: FromPath[UUID], job_id: JobId, services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.remove_job(
                repair_order_id, job_id=job_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{RO}/quote/send", "sendQuote", "Send the quote to the customer")
    def send_quote(
        self, repair_order_id: FromPath[UUID], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.send_quote(
                repair_order_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/approve", "approveJob", "Approve a quoted job")
    def approve_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[ApproveJob],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        principal = writes.principal
        services.access.repair_order(principal, repair_order_id)
        channel = _channel(principal, data.channel)
        return writes.run(
            data,
            lambda version: services.workshop.approve_job(
                repair_order_id,
                job_id=job_id,
                channel=channel,
                client_ip=writes.client_ip,
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/decline", "declineJob", "Decline a quoted job")
    def decline_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[DeclineJob],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        principal = writes.principal
        services.access.repair_order(principal, repair_order_id)
        channel = _channel(principal, data.channel)
        return writes.run(
            data,
            lambda version: services.workshop.decline_job(
                repair_order_id,
                job_id=job_id,
                channel=channel,
                client_ip=writes.client_ip,
                reason=data.reason,
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/assign", "assignTechnician", "Assign a technician")
    def assign(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[AssignTechnician],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.assign_technician(
                repair_order_id,
                job_id=job_id,
                staff_id=data.staff_id,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{RO}/hv/isolate", "isolateHv", "Make the vehicle HV-safe (in your own name)")
    def isolate_hv(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[IsolateHv],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        principal = writes.principal
        return writes.run(
            data,
            lambda version: services.workshop.isolate_hv(
                repair_order_id,
                technician_id=own_staff_id(principal),
                residual_voltage_v=data.residual_voltage_v,
                lock_tag_id=data.lock_tag_id,
                ppe_checked=data.ppe_checked,
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/hv/restore", "restoreHv", "Restore high voltage (in your own name)")
    def restore_hv(
        self, repair_order_id: FromPath[UUID], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        principal = writes.principal
        return writes.run(
            None,
            lambda version: services.workshop.restore_hv(
                repair_order_id,
                technician_id=own_staff_id(principal),
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/clock-on", "clockOn", "Start labour on a job")
    def clock_on(
        self, repair_order_id: FromPath[UUID], job_id: JobId, services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        principal = writes.principal
        return writes.run(
            None,
            lambda version: services.workshop.clock_on(
                repair_order_id,
                job_id=job_id,
                technician_id=own_staff_id(principal),
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/clock-off", "clockOff", "Stop labour on a job")
    def clock_off(
        self, repair_order_id: FromPath[UUID], job_id: JobId, services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        principal = writes.principal
        return writes.run(
            None,
            lambda version: services.workshop.clock_off(
                repair_order_id,
                job_id=job_id,
                technician_id=own_staff_id(principal),
                actor=principal.actor(),
                expected_version=version,
            ),
        )

    @command(f"{RO}/part-requests", "requestParts", "Request parts for a job")
    def request_parts(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[RequestParts],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        lines = [PartRequestLine(x.part_number, x.description, x.quantity) for x in data.lines]
        return writes.run(
            data,
            lambda version: services.workshop.request_parts(
                repair_order_id,
                request_id=data.request_id,
                job_id=data.job_id,
                lines=lines,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(
        f"{RO}/part-requests/{{request_id:str}}/receive",
        "receiveParts",
        "Record that requested parts arrived",
    )
    def receive_parts(
        self,
        repair_order_id: FromPath[UUID],
        request_id: JobId,
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.receive_parts(
                repair_order_id, request_id=request_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/complete", "completeJob", "Complete a job")
    def complete_job(
        self, repair_order_id: FromPath[UUID], job_id: JobId, services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.complete_job(
                repair_order_id, job_id=job_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{RO}/quality-check/pass", "passQualityCheck", "Pass the final quality check")
    def pass_quality_check(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[PassQualityCheck],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.pass_quality_check(
                repair_order_id, notes=data.notes, actor=actor, expected_version=version
            ),
        )

    @command(
        f"{RO}/quality-check/fail",
        "failQualityCheck",
        "Fail the quality check and send jobs back",
    )
    def fail_quality_check(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[FailQualityCheck],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.fail_quality_check(
                repair_order_id,
                reason=data.reason,
                job_ids=data.job_ids,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{RO}/invoice", "invoiceRepairOrder", "Invoice the completed jobs")
    def invoice(
        self, repair_order_id: FromPath[UUID], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.invoice_repair_order(
                repair_order_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{RO}/payments", "recordPayment", "Record a payment against the invoice")
    def record_payment(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[RecordPayment],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_payment(
                repair_order_id,
                amount=data.amount,
                method=data.method,
                reference=data.reference,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{RO}/release", "releaseVehicle", "Hand the vehicle back to the customer")
    def release(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[ReleaseVehicle],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.release_vehicle(
                repair_order_id,
                odometer_out_km=data.odometer_out_km,
                soc_out_pct=data.soc_out_pct,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{RO}/cancel", "cancelRepairOrder", "Cancel the repair order")
    def cancel(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[Cancel],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.cancel_repair_order(
                repair_order_id, reason=data.reason, actor=actor, expected_version=version
            ),
        )
