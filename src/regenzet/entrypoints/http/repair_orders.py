"""Repair orders: the job lifecycle from quote to release, with HV safety and labour clocking.

Technicians act in their own name: the technician recorded on isolation, clocking and
restoring is the token's staff id, never a field of the body. Customers may only approve or
decline jobs on their own orders, and only through the portal channel: both rules are the
application's (``regenzet.application.access``), checked by the use case on the order it
loaded.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application import commands
from regenzet.application.views import MediaList, MediaView, RepairOrderView
from regenzet.domain.repair_order import (
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
    fresh,
    media_query,
    query,
    upload_ticket,
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
    MediaUploadRequest,
    MediaUploadTicket,
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


class RepairOrderController(Controller):
    path = f"{API_PREFIX}/repair-orders"
    tags = ["repair orders"]

    @command("/", "openRepairOrder", "Open a repair order for a customer's vehicle", create=True)
    def open(self, data: JSONBody[OpenRepairOrder], writes: WritesDep) -> Response[CommandResult]:
        return writes.submit(
            commands.OpenRepairOrder,
            data,
            location=lambda r: f"{API_PREFIX}/repair-orders/{r.id}",
        )

    @query(RO, "getRepairOrder", "A repair order with its jobs, labour, invoice and payments")
    def get(
        self, repair_order_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[RepairOrderView]:
        view = services.workshop.get_repair_order(repair_order_id, by=principal)
        return viewed(view, view.version)

    @command(f"{RO}/jobs", "addJob", "Add a job (labour and parts) to the quote")
    def add_job(
        self, repair_order_id: FromPath[UUID], data: JSONBody[AddJob], writes: WritesDep
    ) -> Response[CommandResult]:
        labour, parts = _lines(data)
        return writes.submit(
            commands.AddJob, data, repair_order_id=repair_order_id, labour=labour, parts=parts
        )

    @command(f"{RO}/jobs/{{job_id:str}}", "reviseJob", "Revise a job's quote", method="PUT")
    def revise_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[JobSpec],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        labour, parts = _lines(data)
        return writes.submit(
            commands.ReviseJob,
            data,
            repair_order_id=repair_order_id,
            job_id=job_id,
            labour=labour,
            parts=parts,
        )

    @command(
        f"{RO}/jobs/{{job_id:str}}", "removeJob", "Remove a job from the quote", method="DELETE"
    )
    def remove_job(
        self, repair_order_id: FromPath[UUID], job_id: JobId, writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RemoveJob, repair_order_id=repair_order_id, job_id=job_id)

    @command(f"{RO}/quote/send", "sendQuote", "Send the quote to the customer")
    def send_quote(
        self, repair_order_id: FromPath[UUID], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.SendQuote, repair_order_id=repair_order_id)

    @command(f"{RO}/jobs/{{job_id:str}}/approve", "approveJob", "Approve a quoted job")
    def approve_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[ApproveJob],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ApproveJob, data, repair_order_id=repair_order_id, job_id=job_id
        )

    @command(f"{RO}/jobs/{{job_id:str}}/decline", "declineJob", "Decline a quoted job")
    def decline_job(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[DeclineJob],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.DeclineJob, data, repair_order_id=repair_order_id, job_id=job_id
        )

    @command(f"{RO}/jobs/{{job_id:str}}/assign", "assignTechnician", "Assign a technician")
    def assign(
        self,
        repair_order_id: FromPath[UUID],
        job_id: JobId,
        data: JSONBody[AssignTechnician],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.AssignTechnician, data, repair_order_id=repair_order_id, job_id=job_id
        )

    @command(f"{RO}/hv/isolate", "isolateHv", "Make the vehicle HV-safe (in your own name)")
    def isolate_hv(
        self, repair_order_id: FromPath[UUID], data: JSONBody[IsolateHv], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.IsolateHv,
            data,
            repair_order_id=repair_order_id,
            technician_id=own_staff_id(writes.principal),
        )

    @command(f"{RO}/hv/restore", "restoreHv", "Restore high voltage (in your own name)")
    def restore_hv(
        self, repair_order_id: FromPath[UUID], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.RestoreHv,
            repair_order_id=repair_order_id,
            technician_id=own_staff_id(writes.principal),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/clock-on", "clockOn", "Start labour on a job")
    def clock_on(
        self, repair_order_id: FromPath[UUID], job_id: JobId, writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ClockOn,
            repair_order_id=repair_order_id,
            job_id=job_id,
            technician_id=own_staff_id(writes.principal),
        )

    @command(f"{RO}/jobs/{{job_id:str}}/clock-off", "clockOff", "Stop labour on a job")
    def clock_off(
        self, repair_order_id: FromPath[UUID], job_id: JobId, writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ClockOff,
            repair_order_id=repair_order_id,
            job_id=job_id,
            technician_id=own_staff_id(writes.principal),
        )

    @command(f"{RO}/part-requests", "requestParts", "Request parts for a job")
    def request_parts(
        self, repair_order_id: FromPath[UUID], data: JSONBody[RequestParts], writes: WritesDep
    ) -> Response[CommandResult]:
        lines = [PartRequestLine(x.part_number, x.description, x.quantity) for x in data.lines]
        return writes.submit(
            commands.RequestParts, data, repair_order_id=repair_order_id, lines=lines
        )

    @command(
        f"{RO}/part-requests/{{request_id:str}}/receive",
        "receiveParts",
        "Record that requested parts arrived",
    )
    def receive_parts(
        self, repair_order_id: FromPath[UUID], request_id: JobId, writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ReceiveParts, repair_order_id=repair_order_id, request_id=request_id
        )

    @command(f"{RO}/jobs/{{job_id:str}}/complete", "completeJob", "Complete a job")
    def complete_job(
        self, repair_order_id: FromPath[UUID], job_id: JobId, writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.CompleteJob, repair_order_id=repair_order_id, job_id=job_id)

    @command(f"{RO}/quality-check/pass", "passQualityCheck", "Pass the final quality check")
    def pass_quality_check(
        self, repair_order_id: FromPath[UUID], data: JSONBody[PassQualityCheck], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.PassQualityCheck, data, repair_order_id=repair_order_id)

    @command(
        f"{RO}/quality-check/fail",
        "failQualityCheck",
        "Fail the quality check and send jobs back",
    )
    def fail_quality_check(
        self, repair_order_id: FromPath[UUID], data: JSONBody[FailQualityCheck], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.FailQualityCheck, data, repair_order_id=repair_order_id)

    @command(f"{RO}/invoice", "invoiceRepairOrder", "Invoice the completed jobs")
    def invoice(
        self, repair_order_id: FromPath[UUID], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.InvoiceRepairOrder, repair_order_id=repair_order_id)

    @command(f"{RO}/payments", "recordPayment", "Record a payment against the invoice")
    def record_payment(
        self, repair_order_id: FromPath[UUID], data: JSONBody[RecordPayment], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordPayment, data, repair_order_id=repair_order_id)

    @command(f"{RO}/release", "releaseVehicle", "Hand the vehicle back to the customer")
    def release(
        self, repair_order_id: FromPath[UUID], data: JSONBody[ReleaseVehicle], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.ReleaseVehicle, data, repair_order_id=repair_order_id)

    @command(f"{RO}/cancel", "cancelRepairOrder", "Cancel the repair order")
    def cancel(
        self, repair_order_id: FromPath[UUID], data: JSONBody[Cancel], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.CancelRepairOrder, data, repair_order_id=repair_order_id)

    # -- check-in photos (issue 13): damage already on the car at intake ---------------------

    @command(
        f"{RO}/media/uploads",
        "requestRepairOrderMediaUpload",
        "A ticket to upload one check-in photo straight to storage",
        create=True,
    )
    def request_media_upload(
        self,
        repair_order_id: FromPath[UUID],
        data: JSONBody[MediaUploadRequest],
        writes: WritesDep,
    ) -> Response[MediaUploadTicket]:
        return writes.submit(
            commands.RequestRepairOrderMediaUpload,
            data,
            repair_order_id=repair_order_id,
            render=upload_ticket("repair-orders"),
            created=True,
        )

    @command(
        f"{RO}/media/{{media_id:uuid}}/confirm",
        "confirmRepairOrderMedia",
        "Check the uploaded photo (size, SHA-256, real type, decoding) and attach it",
    )
    def confirm_media(
        self, repair_order_id: FromPath[UUID], media_id: FromPath[UUID], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ConfirmRepairOrderMedia, repair_order_id=repair_order_id, media_id=media_id
        )

    @media_query(f"{RO}/media", "listRepairOrderMedia", "The attached check-in photos")
    def list_media(
        self, repair_order_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[MediaList]:
        items = services.workshop.list_repair_order_media(repair_order_id, by=principal)
        return fresh(MediaList(items=items))

    @media_query(f"{RO}/media/{{media_id:uuid}}", "getRepairOrderMedia", "One check-in photo")
    def get_media(
        self,
        repair_order_id: FromPath[UUID],
        media_id: FromPath[UUID],
        services: Services,
        principal: Caller,
    ) -> Response[MediaView]:
        view = services.workshop.get_repair_order_media(repair_order_id, media_id, by=principal)
        return fresh(view)
