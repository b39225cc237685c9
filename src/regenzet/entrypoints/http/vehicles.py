"""Vehicles: registration by VIN, ownership, odometer, battery health, software, warranty."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application.views import VehicleView
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    READ_PROBLEMS,
    Caller,
    Services,
    WritesDep,
    command,
    problems,
    query,
    viewed,
)
from regenzet.entrypoints.http.schemas import (
    CommandResult,
    CorrectOdometer,
    RecordBatteryHealth,
    RecordOdometer,
    RecordSoftwareVersion,
    RegisterBatteryWarranty,
    RegisterVehicle,
    TransferOwnership,
)

# 17 characters without I, O or Q (ISO 3779); the check digit is the decoder's business (422).
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"
VIN_PROBLEMS = {**READ_PROBLEMS, **problems(422)}


class VehicleController(Controller):
    path = f"{API_PREFIX}/vehicles"
    tags = ["vehicles"]

    @command("/", "registerVehicle", "Register a vehicle by VIN", create=True)
    def register(
        self, data: JSONBody[RegisterVehicle], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda _: services.workshop.register_vehicle(
                vin=data.vin,
                plate=data.plate,
                make=data.make,
                model=data.model,
                year=data.year,
                battery_kwh=data.battery_kwh,
                nominal_voltage_v=data.nominal_voltage_v,
                owner_id=data.owner_id,
                actor=actor,
            ),
            location=lambda r: f"{API_PREFIX}/vehicles/{r.id}",
        )

    @query("/{vehicle_id:uuid}", "getVehicle", "A vehicle with its battery and warranty record")
    def get(
        self, vehicle_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[VehicleView]:
        services.access.vehicle(principal, vehicle_id)
        view = services.workshop.get_vehicle(vehicle_id)
        return viewed(view, view.version)

    @query(
        "/by-vin/{vin:str}",
        "findVehicleByVin",
        "Look a vehicle up by its VIN",
        problems=VIN_PROBLEMS,
    )
    def find_by_vin(
        self,
        vin: Annotated[str, PathParameter(pattern=VIN_PATTERN)],
        services: Services,
    ) -> Response[VehicleView]:
        view = services.workshop.get_vehicle(services.workshop.find_vehicle_id(vin))
        return viewed(view, view.version)

    @command(
        "/{vehicle_id:uuid}/ownership-transfers",
        "transferVehicleOwnership",
        "Transfer the vehicle to another registered customer",
    )
    def transfer(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[TransferOwnership],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.transfer_vehicle_ownership(
                vehicle_id, new_owner_id=data.new_owner_id, actor=actor, expected_version=version
            ),
        )

    @command("/{vehicle_id:uuid}/odometer", "recordOdometer", "Record an odometer reading")
    def record_odometer(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[RecordOdometer],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_odometer(
                vehicle_id, km=data.km, actor=actor, expected_version=version
            ),
        )

    @command(
        "/{vehicle_id:uuid}/odometer/corrections",
        "correctOdometer",
        "Correct a wrongly entered odometer reading (with a reason)",
    )
    def correct_odometer(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[CorrectOdometer],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.correct_odometer(
                vehicle_id, km=data.km, reason=data.reason, actor=actor, expected_version=version
            ),
        )

    @command(
        "/{vehicle_id:uuid}/battery-health",
        "recordBatteryHealth",
        "Record a battery state-of-health reading",
    )
    def record_battery_health(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[RecordBatteryHealth],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_battery_health(
                vehicle_id,
                soh_pct=data.soh_pct,
                soc_pct=data.soc_pct,
                method=data.method,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(
        "/{vehicle_id:uuid}/software",
        "recordSoftwareVersion",
        "Record an ECU software update",
    )
    def record_software(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[RecordSoftwareVersion],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_software_version(
                vehicle_id,
                ecu=data.ecu,
                version_before=data.version_before,
                version_after=data.version_after,
                actor=actor,
                expected_version=version,
            ),
        )

    @command(
        "/{vehicle_id:uuid}/battery-warranty",
        "registerBatteryWarranty",
        "Register the traction battery warranty",
    )
    def register_warranty(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[RegisterBatteryWarranty],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.register_battery_warranty(
                vehicle_id,
                start_date=data.start_date,
                years=data.years,
                km=data.km,
                soh_threshold_pct=data.soh_threshold_pct,
                actor=actor,
                expected_version=version,
            ),
        )
