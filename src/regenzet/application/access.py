"""Who may reach what: the callers of a use case and every object-level rule (ADR 0037).

Staff roles see every record (their limits are per operation, see the HTTP policy). For a
customer, anything that is not theirs is reported exactly like something that does not exist
(:class:`NotFoundError` naming only the id they asked for), so probing ids reveals nothing:
no VIN, plate or name, not even whether the record exists. Inspections are visible to their
vehicle's owner only once shared.

A write names its caller (``Workshop.execute(command, by)``) and the workshop applies
:func:`reaches` to the aggregate it loaded, once, before deciding; the approval channel a
caller may record is :func:`approval_channel` (ADR 0016). Reads check the same rules through
:class:`ObjectAccess`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate

from regenzet.application import views
from regenzet.application.errors import NotFoundError
from regenzet.application.identity import Principal
from regenzet.domain.common import Actor, Role, fail
from regenzet.domain.customer import Customer
from regenzet.domain.inspection import Inspection
from regenzet.domain.repair_order import ApprovalChannel, RepairOrder
from regenzet.domain.vehicle import Vehicle


@attrs.frozen
class InProcess:
    """A trusted caller inside the process (demo seeding, the CLI, benchmarks, tests): it acts
    as the actor it names, no object rule narrows it, and the approval channel it gives is
    recorded as given. Nothing reachable from outside builds one: requests carry a
    :class:`Principal`, an emailed link a :class:`LinkHolder`."""

    by: Actor

    def actor(self) -> Actor:
        return self.by


@attrs.frozen
class LinkHolder:
    """Whoever holds a verified quote link (ADR 0016): the order's customer, for that order
    only, deciding through the link (channel ``email_link``)."""

    customer_id: UUID
    repair_order_id: UUID

    def actor(self) -> Actor:
        return Actor(str(self.customer_id), Role.CUSTOMER)


Caller = Principal | InProcess | LinkHolder


def confined_to(by: Caller) -> UUID | None:
    """The customer whose records are all the caller may reach, or None for staff."""
    if isinstance(by, LinkHolder):
        return by.customer_id
    if isinstance(by, Principal) and by.role is Role.CUSTOMER:
        return by.customer_id
    return None


def reaches(by: Caller, aggregate: Aggregate, owner_of: Callable[[UUID], UUID | None]) -> bool:
    """Whether the caller may reach a loaded aggregate; ``owner_of`` names a vehicle's owner
    (an inspection is its vehicle owner's, once shared)."""
    customer = confined_to(by)
    if customer is None:
        return True
    if isinstance(by, LinkHolder):
        # A link reaches its one order, nothing else of its customer's (ADR 0016).
        return (
            isinstance(aggregate, RepairOrder)
            and aggregate.id == by.repair_order_id
            and aggregate.customer_id == customer
        )
    if isinstance(aggregate, Customer):
        return aggregate.id == customer
    if isinstance(aggregate, Vehicle):
        return aggregate.owner_id == customer
    if isinstance(aggregate, RepairOrder):
        return aggregate.customer_id == customer
    if isinstance(aggregate, Inspection):
        return aggregate.shared and owner_of(aggregate.vehicle_id) == customer
    return False  # staff records, plate claims: never a customer's


def approval_channel(by: Caller, requested: ApprovalChannel | None) -> ApprovalChannel:
    """Customers decide in the portal, a link's holder through the link; staff record the
    channel the customer used (ADR 0016)."""
    if isinstance(by, LinkHolder):
        return ApprovalChannel.EMAIL_LINK
    if isinstance(by, InProcess):
        if requested is None:
            fail("channel", "say how the customer decided")
        return requested
    if by.role is Role.CUSTOMER:
        if requested not in (None, ApprovalChannel.PORTAL):
            fail("channel", "customers approve and decline in the portal")
        return ApprovalChannel.PORTAL
    if requested is None or requested is ApprovalChannel.PORTAL:
        fail("channel", "staff must say how the customer decided: phone, in_person or email")
    if requested is ApprovalChannel.EMAIL_LINK:
        fail("channel", "email_link is recorded only by the emailed approval link itself")
    return requested


class RecordReader(Protocol):
    """The queries the read-side checks need (the workshop)."""

    def get_repair_order(self, repair_order_id: UUID) -> views.RepairOrderView: ...

    def get_inspection(self, inspection_id: UUID) -> views.InspectionView: ...

    def get_vehicle(self, vehicle_id: UUID) -> views.VehicleView: ...


class ObjectAccess:
    """Checks a principal may reach a record before a query runs on it (writes are checked
    by the use case itself, on the aggregate it loaded)."""

    def __init__(self, workshop: RecordReader) -> None:
        self._workshop = workshop

    @staticmethod
    def _restricted(principal: Principal) -> bool:
        return confined_to(principal) is not None

    def customer(self, principal: Principal, customer_id: UUID) -> None:
        if self._restricted(principal) and principal.customer_id != customer_id:
            raise NotFoundError("customer", customer_id)

    def vehicle(self, principal: Principal, vehicle_id: UUID) -> None:
        if not self._restricted(principal):
            return
        if not self._owns_vehicle(principal, vehicle_id):
            raise NotFoundError("vehicle", vehicle_id)

    def repair_order(self, principal: Principal, repair_order_id: UUID) -> None:
        if not self._restricted(principal):
            return
        try:
            order = self._workshop.get_repair_order(repair_order_id)
        except NotFoundError:
            raise NotFoundError("repair order", repair_order_id) from None
        if order.customer_id != principal.customer_id:
            raise NotFoundError("repair order", repair_order_id)

    def inspection(self, principal: Principal, inspection_id: UUID) -> None:
        if not self._restricted(principal):
            return
        try:
            inspection = self._workshop.get_inspection(inspection_id)
        except NotFoundError:
            raise NotFoundError("inspection", inspection_id) from None
        if not inspection.shared or not self._owns_vehicle(principal, inspection.vehicle_id):
            raise NotFoundError("inspection", inspection_id)

    def _owns_vehicle(self, principal: Principal, vehicle_id: UUID) -> bool:
        try:
            vehicle = self._workshop.get_vehicle(vehicle_id)
        except NotFoundError:
            return False
        return vehicle.owner_id == principal.customer_id

    def technician_workload(self, principal: Principal, staff_id: UUID) -> None:
        """Technicians see their own workload; advisors, managers and auditors everyone's."""
        if principal.role is Role.TECHNICIAN and principal.staff_id != staff_id:
            raise NotFoundError("technician", staff_id)
