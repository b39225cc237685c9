"""Staff: hiring, HV qualifications, deactivation (managers)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody

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
    def hire(
        self, data: JSONBody[HireStaffMember], services: Services, writes: WritesDep
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda _: services.workshop.hire_staff_member(
                name=data.name, email=data.email, role=data.role, actor=actor
            ),
            location=lambda r: f"{API_PREFIX}/staff/{r.id}",
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
        self,
        staff_id: FromPath[UUID],
        data: JSONBody[RecordHvQualification],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.record_hv_qualification(
                staff_id,
                level=data.level,
                certificate_id=data.certificate_id,
                expires_on=data.expires_on,
                actor=actor,
                expected_version=version,
            ),
        )

    @command("/{staff_id:uuid}/deactivate", "deactivateStaffMember", "Deactivate a staff member")
    def deactivate(
        self,
        staff_id: FromPath[UUID],
        data: JSONBody[Deactivate],
        services: Services,
        writes: WritesDep,
    ) -> Response[CommandResult]:
        actor = writes.principal.actor()
        return writes.run(
            data,
            lambda version: services.workshop.deactivate_staff_member(
                staff_id, reason=data.reason, actor=actor, expected_version=version
            ),
        )
