"""Garage staff and their high-voltage qualifications (the industry's 0-3 ladder).

The staff member also carries the labour clock across repair orders: a technician is clocked on
at most one job anywhere, and the application saves the staff member together with the repair
order in one transaction so two racing clock-ons cannot both win.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import Actor, Role, check_text, fail, is_expired, violate


class HvLevel(IntEnum):
    """0 none, 1 EV awareness, 2 HV-safe isolation / non-live work, 3 HV component and live work."""

    NONE = 0
    AWARENESS = 1
    ISOLATION = 2
    LIVE_WORK = 3


STAFF_ROLES = (Role.TECHNICIAN, Role.ADVISOR, Role.MANAGER)


@attrs.frozen
class HvQualification:
    level: int
    certificate_id: str
    expires_on: date


class StaffMember(Aggregate):
    """A technician, advisor or manager."""

    @classmethod
    def hire(
        cls,
        *,
        name: str,
        email: str,
        role: Role,
        actor: Actor,
        id: UUID | None = None,
    ) -> StaffMember:
        if role not in STAFF_ROLES:
            fail("role", f"must be one of {', '.join(r.value for r in STAFF_ROLES)}")
        kwargs: dict[str, Any] = {
            "name": check_text("name", name, max_length=120),
            "email": check_text("email", email, max_length=254).lower(),
            "role": role,
            "actor": actor,
        }
        return cls(**kwargs, id=id)

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Hired(Aggregate.Created):
        name: str
        email: str
        role: Role
        actor: Actor

    @event(Hired)
    def __init__(
        self,
        *,
        name: str,
        email: str,
        role: Role,
        actor: Actor,
        id: UUID | None = None,
    ) -> None:
        self.name = name
        self.email = email
        self.role = role
        self.active = True
        self.qualification: HvQualification | None = None
        self.clocked_on: dict[str, str] | None = None

    # -- HV qualification -------------------------------------------------------------------

    def record_hv_qualification(
        self, *, level: int, certificate_id: str, expires_on: date, actor: Actor
    ) -> None:
        self._require_active("record a qualification")
        if not isinstance(level, int) or not HvLevel.NONE <= level <= HvLevel.LIVE_WORK:
            fail("level", "must be an HV level from 0 to 3")
        certificate_id = check_text("certificate_id", certificate_id, max_length=64)
        self._hv_qualification_recorded(
            qualification=HvQualification(int(level), certificate_id, expires_on), actor=actor
        )

    class HvQualificationRecorded(Aggregate.Event):
        qualification: HvQualification
        actor: Actor

    @event(HvQualificationRecorded)
    def _hv_qualification_recorded(self, *, qualification: HvQualification, actor: Actor) -> None:
        self.qualification = qualification

    def effective_hv_level(self, today: date) -> int:
        """The level that counts today: an expired certificate (or an inactive member) is 0."""
        q = self.qualification
        if not self.active or q is None or is_expired(q.expires_on, today):
            return HvLevel.NONE
        return q.level

    def why_hv_level_is_lower(self, today: date) -> str | None:
        """Why the level that counts today is below the recorded one, in words (or None)."""
        q = self.qualification
        if q is None or q.level == HvLevel.NONE:
            return None
        if not self.active:
            return f"the staff member is deactivated (HV level {q.level} no longer counts)"
        if is_expired(q.expires_on, today):
            return (
                f"HV certificate {q.certificate_id} (level {q.level}) expired on "
                f"{q.expires_on.isoformat()}"
            )
        return None

    # -- deactivation ----------------------------------------------------------------------

    def deactivate(self, *, reason: str, actor: Actor) -> None:
        self._require_active("deactivate")
        if self.clocked_on is not None:
            violate("technician_clocked_on", "clock the staff member off before deactivating")
        self._deactivated(reason=check_text("reason", reason, max_length=500), actor=actor)

    class Deactivated(Aggregate.Event):
        reason: str
        actor: Actor

    @event(Deactivated)
    def _deactivated(self, *, reason: str, actor: Actor) -> None:
        self.active = False

    # -- labour clock across repair orders ---------------------------------------------------

    def start_labour(
        self, *, repair_order_id: UUID, job_id: str, at: datetime, actor: Actor
    ) -> None:
        self._require_active("clock on")
        if self.clocked_on is not None:
            violate(
                "technician_already_clocked_on",
                f"already clocked on job {self.clocked_on['job_id']} "
                f"of repair order {self.clocked_on['repair_order_id']}",
            )
        self._labour_started(repair_order_id=repair_order_id, job_id=job_id, at=at, actor=actor)

    class LabourStarted(Aggregate.Event):
        repair_order_id: UUID
        job_id: str
        at: datetime
        actor: Actor

    @event(LabourStarted)
    def _labour_started(
        self, *, repair_order_id: UUID, job_id: str, at: datetime, actor: Actor
    ) -> None:
        self.clocked_on = {"repair_order_id": str(repair_order_id), "job_id": job_id}

    def stop_labour(
        self, *, repair_order_id: UUID, job_id: str, at: datetime, actor: Actor
    ) -> None:
        expected = {"repair_order_id": str(repair_order_id), "job_id": job_id}
        if self.clocked_on != expected:
            violate("technician_not_clocked_on", "not clocked on that job")
        self._labour_stopped(repair_order_id=repair_order_id, job_id=job_id, at=at, actor=actor)

    class LabourStopped(Aggregate.Event):
        repair_order_id: UUID
        job_id: str
        at: datetime
        actor: Actor

    @event(LabourStopped)
    def _labour_stopped(
        self, *, repair_order_id: UUID, job_id: str, at: datetime, actor: Actor
    ) -> None:
        self.clocked_on = None

    def _require_active(self, command: str) -> None:
        if not self.active:
            violate("staff_inactive", f"cannot {command}: staff member is deactivated")


VALUE_TYPES: list[type] = [HvQualification]
