"""Vehicles: registration by VIN, ownership, odometer, battery health, software, warranty."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody, PathParameter

from regenzet.application import commands
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
        self, data: JSONBody[RegisterVehicle], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.RegisterVehicle, data, location=lambda r: f"{API_PREFIX}/vehicles/{r.id}"
        )

    @query("/{vehicle_id:uuid}", "getVehicle", "A vehicle with its battery and warranty record")
    def get(
        self, vehicle_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[VehicleView]:
        view = services.workshop.get_vehicle(vehicle_id, by=principal)
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
        self, vehicle_id: FromPath[UUID], data: JSONBody[TransferOwnership], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.TransferVehicleOwnership, data, vehicle_id=vehicle_id)

    @command("/{vehicle_id:uuid}/odometer", "recordOdometer", "Record an odometer reading")
    def record_odometer(
        self, vehicle_id: FromPath[UUID], data: JSONBody[RecordOdometer], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordOdometer, data, vehicle_id=vehicle_id)

    @command(
        "/{vehicle_id:uuid}/odometer/corrections",
        "correctOdometer",
        "Correct a wrongly entered odometer reading (with a reason)",
    )
    def correct_odometer(
        self, vehicle_id: FromPath[UUID], data: JSONBody[CorrectOdometer], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.CorrectOdometer, data, vehicle_id=vehicle_id)

    @command(
        "/{vehicle_id:uuid}/battery-health",
        "recordBatteryHealth",
        "Record a battery state-of-health reading",
    )
    def record_battery_health(
        self, vehicle_id: FromPath[UUID], data: JSONBody[RecordBatteryHealth], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordBatteryHealth, data, vehicle_id=vehicle_id)

    @command(
        "/{vehicle_id:uuid}/software",
        "recordSoftwareVersion",
        "Record an ECU software update",
    )
    def record_software(
        self, vehicle_id: FromPath[UUID], data: JSONBody[RecordSoftwareVersion], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordSoftwareVersion, data, vehicle_id=vehicle_id)

    @command(
        "/{vehicle_id:uuid}/battery-warranty",
        "registerBatteryWarranty",
        "Register the traction battery warranty",
    )
    def register_warranty(
        self,
        vehicle_id: FromPath[UUID],
        data: JSONBody[RegisterBatteryWarranty],
        writes: WritesDep,
    ) -> Response[CommandResult]:
        return writes.submit(commands.RegisterBatteryWarranty, data, vehicle_id=vehicle_id)
