"""Inspections: the technician's walk-round on the EV template, shared with the owner."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application.views import InspectionView
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
    AttachMedia,
    CommandResult,
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
    def start(
        self, data: JSONBody[StartInspection], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        principal = writes.principal
        technician_id = own_staff_id(principal)
        return writes.run(
            data,
            lambda _: services.workshop.start_inspection(
                vehicle_id=data.vehicle_id,
                repair_order_id=data.repair_order_id,
                technician_id=technician_id,
                template_code=data.template_code,
                template_version=data.template_version,
                actor=principal.actor(),
            ),
            location=lambda r: f"{API_PREFIX}/inspections/{r.id}",
        )

    @query(INS, "getInspection", "An inspection with ratings, measurements and media")
    def get(
        self, inspection_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[InspectionView]:
        services.access.inspection(principal, inspection_id)
        view = services.workshop.get_inspection(inspection_id)
        return viewed(view, view.version)

    @command(f"{INS}/items/{{item_code:str}}", "rateInspectionItem", "Rate a template item")
    def rate_item(
        self,
        inspection_id: FromPath[UUID],
        item_code: ItemCode,
        data: JSONBody[RateItem],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.rate_inspection_item(
                inspection_id,
                item_code=item_code,
                rating=data.rating,
                note=data.note,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{INS}/measurements", "recordMeasurement", "Record a measurement")
    def record_measurement(
        self,
        inspection_id: FromPath[UUID],
        data: JSONBody[RecordMeasurement],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_measurement(
                inspection_id,
                kind=data.kind,
                value=data.value,
                unit=data.unit,
                item_code=data.item_code,
                test_voltage_v=data.test_voltage_v,
                circuit=data.circuit,
                battery_method=data.battery_method,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{INS}/media", "attachInspectionMedia", "Attach an uploaded photo or video")
    def attach_media(
        self,
        inspection_id: FromPath[UUID],
        data: JSONBody[AttachMedia],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.attach_media(
                inspection_id,
                media_id=data.media_id,
                item_code=data.item_code,
                content_type=data.content_type,
                size_bytes=data.size_bytes,
                sha256=data.sha256,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(f"{INS}/complete", "completeInspection", "Complete the inspection")
    def complete(
        self, inspection_id: FromPath[UUID], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.complete_inspection(
                inspection_id, actor=actor, expected_version=version
            ),
        )

    @command(f"{INS}/share", "shareInspection", "Share the inspection with the vehicle's owner")
    def share(
        self, inspection_id: FromPath[UUID], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            None,
            lambda version: services.workshop.share_inspection(
                inspection_id, actor=actor, expected_version=version
            ),
        )
