"""Function-level authorization: which roles may call which operation, kept as data.

Keys are the routes' ``operation_id``s. An operation missing here is refused to everyone (the
guard fails closed) and a test checks every API route has an entry. Object-level rules (a
customer sees only their own records) live in ``regenzet.application.access``.

The auditor reads everything and never mutates: no write operation lists it.
"""

from __future__ import annotations

from regenzet.domain.common import Role

C = Role.CUSTOMER
A = Role.ADVISOR
T = Role.TECHNICIAN
M = Role.MANAGER
AU = Role.AUDITOR

EVERYONE = frozenset({C, A, T, M, AU})

POLICY: dict[str, frozenset[Role]] = {
    # who am I
    "whoAmI": EVERYONE,
    # customers
    "registerCustomer": frozenset({A, M}),
    "getCustomer": frozenset({C, A, M, AU}),
    "changeCustomerContact": frozenset({C, A, M}),
    "changeCustomerPreferences": frozenset({C, A, M}),
    # staff
    "hireStaffMember": frozenset({M}),
    "getStaffMember": frozenset({A, T, M, AU}),
    "recordHvQualification": frozenset({M}),
    "deactivateStaffMember": frozenset({M}),
    # vehicles
    "registerVehicle": frozenset({A, M}),
    "getVehicle": EVERYONE,
    "findVehicleByVin": frozenset({A, T, M, AU}),
    "transferVehicleOwnership": frozenset({A, M}),
    "recordOdometer": frozenset({A, T, M}),
    "correctOdometer": frozenset({M}),
    "recordBatteryHealth": frozenset({T, M}),
    "recordSoftwareVersion": frozenset({T, M}),
    "registerBatteryWarranty": frozenset({A, M}),
    # repair orders
    "openRepairOrder": frozenset({A, M}),
    "getRepairOrder": EVERYONE,
    "addJob": frozenset({A, M}),
    "reviseJob": frozenset({A, M}),
    "removeJob": frozenset({A, M}),
    "sendQuote": frozenset({A, M}),
    "approveJob": frozenset({C, A, M}),
    "declineJob": frozenset({C, A, M}),
    "assignTechnician": frozenset({A, M}),
    "isolateHv": frozenset({T}),
    "restoreHv": frozenset({T}),
    "clockOn": frozenset({T}),
    "clockOff": frozenset({T}),
    "requestParts": frozenset({A, T, M}),
    "receiveParts": frozenset({A, M}),
    "completeJob": frozenset({T}),
    "passQualityCheck": frozenset({T, M}),
    "failQualityCheck": frozenset({T, M}),
    "invoiceRepairOrder": frozenset({A, M}),
    "recordPayment": frozenset({A, M}),
    "releaseVehicle": frozenset({A, M}),
    "cancelRepairOrder": frozenset({A, M}),
    # inspections
    "startInspection": frozenset({T}),
    "getInspection": EVERYONE,
    "rateInspectionItem": frozenset({T}),
    "recordMeasurement": frozenset({T}),
    "attachInspectionMedia": frozenset({T}),
    "completeInspection": frozenset({T}),
    "shareInspection": frozenset({A, T, M}),
    # read models
    "getWorkshopBoard": frozenset({A, T, M, AU}),
    "getVehicleProfile": EVERYONE,
    "getCustomerPortal": frozenset({C, A, M, AU}),
    "getTechnicianWorkload": frozenset({A, T, M, AU}),
    "getInspectionSummary": EVERYONE,
    "getKpis": frozenset({M, AU}),
    # the assistant: everyone may ask; its tools are limited by this same table (each tool
    # mirrors one operation above) and run with the caller's object-level checks
    "chat": EVERYONE,
    "listChatTurns": EVERYONE,
    # audit
    "getAuditLog": frozenset({M, AU}),
    "getAggregateHistory": frozenset({M, AU}),
    "getAggregateState": frozenset({M, AU}),
    "getAggregateDiff": frozenset({M, AU}),
    "getAuditVerification": frozenset({M, AU}),
    "getAuditCheckpoints": frozenset({M, AU}),
}


def allowed(operation_id: str, role: Role) -> bool:
    return role in POLICY.get(operation_id, frozenset())
