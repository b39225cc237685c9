"""Staff: hiring, HV qualifications, deactivation (managers)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody

from regenzet.application import commands
from regenzet.application.views import StaffView
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    Services,
    WritesDep,
    command,
    query,
    viewed,
)
from regenzet.entrypoints.http.schemas import (
    CommandResult,
    Deactivate,
    HireStaffMember,
    RecordHvQualification,
)


class StaffController(Controller):
    path = f"{API_PREFIX}/staff"
    tags = ["staff"]

    @command("/", "hireStaffMember", "Hire a staff member", create=True)
    def hire(self, data: JSONBody[HireStaffMember], writes: WritesDep) -> Response[CommandResult]:
        return writes.submit(
            commands.HireStaffMember, data, location=lambda r: f"{API_PREFIX}/staff/{r.id}"
        )

    @query("/{staff_id:uuid}", "getStaffMember", "A staff member and their HV qualification")
    def get(self, staff_id: FromPath[UUID], services: Services) -> Response[StaffView]:
        view = services.workshop.get_staff_member(staff_id)
        return viewed(view, view.version)

    @command(
        "/{staff_id:uuid}/hv-qualifications",
        "recordHvQualification",
        "Record an HV qualification (level 0-3, certificate, expiry)",
    )
    def record_hv_qualification(
        self, staff_id: FromPath[UUID], data: JSONBody[RecordHvQualification], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.RecordHvQualification, data, staff_id=staff_id)

    @command("/{staff_id:uuid}/deactivate", "deactivateStaffMember", "Deactivate a staff member")
    def deactivate(
        self, staff_id: FromPath[UUID], data: JSONBody[Deactivate], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.DeactivateStaffMember, data, staff_id=staff_id)
