"""Object-level authorization: a customer reaches only their own records.

Staff roles see every record (their limits are per operation, see the HTTP policy). For a
customer, anything that is not theirs is reported exactly like something that does not exist
(:class:`NotFoundError` naming only the id they asked for), so probing ids reveals nothing:
no VIN, plate or name, not even whether the record exists. Inspections are visible to their
vehicle's owner only once shared.
"""

from __future__ import annotations

from uuid import UUID

from regenzet.application.errors import NotFoundError
from regenzet.application.identity import Principal
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Role


class ObjectAccess:
    """Checks a principal may reach an aggregate before a use case runs on it."""

    def __init__(self, workshop: Workshop) -> None:
        self._workshop = workshop

    @staticmethod
    def _restricted(principal: Principal) -> bool:
        return principal.role is Role.CUSTOMER

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
