"""Inspections: the technician's walk-round on the EV template, shared with the owner."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application import commands
from regenzet.application.views import InspectionView, MediaList, MediaView
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    Caller,
    Services,
    WritesDep,
    command,
    fresh,
    media_query,
    query,
    shapes_of,
    upload_ticket,
    viewed,
)
from regenzet.entrypoints.http.schemas import (
    AnnotateMedia,
    CommandResult,
    MediaUploadRequest,
    MediaUploadTicket,
    RateItem,
    RecordMeasurement,
    StartInspection,
)
from regenzet.entrypoints.http.security import own_staff_id

ItemCode = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
INS = "/{inspection_id:uuid}"


class InspectionController(Controller):
    path = f"{API_PREFIX}/inspections"
    tags = ["inspections"]

    @command("/", "startInspection", "Start an inspection (in your own name)", create=True)
    def start(self, data: JSONBody[StartInspection], writes: WritesDep) -> Response[CommandResult]:
        return writes.submit(
            commands.StartInspection,
            data,
            technician_id=own_staff_id(writes.principal),
            location=lambda r: f"{API_PREFIX}/inspections/{r.id}",
        )

    @query(INS, "getInspection", "An inspection with ratings, measurements and media")
    def get(
        self, inspection_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[InspectionView]:
        view = services.workshop.get_inspection(inspection_id, by=principal)
        return viewed(view, view.version)

    @command(f"{INS}/items/{{item_code:str}}", "rateInspectionItem", "Rate a template item")
    def rate_item(
        self,
        inspection_id: FromPath[UUID],
        item_code: ItemCode,
        data: JSONBody[RateItem],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.RateInspectionItem, data, inspection_id=inspection_id, item_code=item_code
        )

    @command(f"{INS}/measurements", "recordMeasurement", "Record a measurement")
    def record_measurement(
        self, inspection_id: FromPath[UUID], data: JSONBody[RecordMeasurement], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordMeasurement, data, inspection_id=inspection_id)

    # -- media (issue 13): ticket, upload straight to storage, confirm -----------------------

    @command(
        f"{INS}/media/uploads",
        "requestInspectionMediaUpload",
        "A ticket to upload one photo or video straight to storage",
        create=True,
    )
    def request_media_upload(
        self,
        inspection_id: FromPath[UUID],
        data: JSONBody[MediaUploadRequest],
        writes: WritesDep,
    ) -> Response[MediaUploadTicket]:
        return writes.submit(
            commands.RequestInspectionMediaUpload,
            data,
            inspection_id=inspection_id,
            render=upload_ticket("inspections"),
            created=True,
        )

    @command(
        f"{INS}/media/{{media_id:uuid}}/confirm",
        "confirmInspectionMedia",
        "Check the uploaded file (size, SHA-256, real type, decoding) and attach it",
    )
    def confirm_media(
        self, inspection_id: FromPath[UUID], media_id: FromPath[UUID], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ConfirmInspectionMedia, inspection_id=inspection_id, media_id=media_id
        )

    @command(
        f"{INS}/media/{{media_id:uuid}}/annotations",
        "annotateInspectionMedia",
        "Draw markup over an attached photo (the original is untouched)",
    )
    def annotate_media(
        self,
        inspection_id: FromPath[UUID],
        media_id: FromPath[UUID],
        data: JSONBody[AnnotateMedia],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.AnnotateInspectionMedia,
            data,
            inspection_id=inspection_id,
            media_id=media_id,
            shapes=shapes_of(data),
        )

    @media_query(f"{INS}/media", "listInspectionMedia", "The attached photos and videos")
    def list_media(
        self, inspection_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[MediaList]:
        items = services.workshop.list_inspection_media(inspection_id, by=principal)
        return fresh(MediaList(items=items))

    @media_query(
        f"{INS}/media/{{media_id:uuid}}", "getInspectionMedia", "One attached photo or video"
    )
    def get_media(
        self,
        inspection_id: FromPath[UUID],
        media_id: FromPath[UUID],
        services: Services,
        principal: Caller,
    ) -> Response[MediaView]:
        view = services.workshop.get_inspection_media(inspection_id, media_id, by=principal)
        return fresh(view)

    @command(f"{INS}/complete", "completeInspection", "Complete the inspection")
    def complete(self, inspection_id: FromPath[UUID], writes: WritesDep) -> Response[CommandResult]:
        return writes.submit(commands.CompleteInspection, inspection_id=inspection_id)

    @command(f"{INS}/share", "shareInspection", "Share the inspection with the vehicle's owner")
    def share(self, inspection_id: FromPath[UUID], writes: WritesDep) -> Response[CommandResult]:
        return writes.submit(commands.ShareInspection, inspection_id=inspection_id)
