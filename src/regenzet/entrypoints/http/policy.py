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
    # check-in photos (issue 13): intake is the advisor's; the auditor reads metadata only
    "requestRepairOrderMediaUpload": frozenset({A, T, M}),
    "confirmRepairOrderMedia": frozenset({A, T, M}),
    "listRepairOrderMedia": EVERYONE,
    "getRepairOrderMedia": EVERYONE,
    # inspections
    "startInspection": frozenset({T}),
    "getInspection": EVERYONE,
    "rateInspectionItem": frozenset({T}),
    "recordMeasurement": frozenset({T}),
    # media (issue 13): the technician uploads and draws; customers see their shared
    # inspections' media; the auditor reads metadata only (URLs null)
    "requestInspectionMediaUpload": frozenset({T}),
    "confirmInspectionMedia": frozenset({T}),
    "annotateInspectionMedia": frozenset({T}),
    "listInspectionMedia": EVERYONE,
    "getInspectionMedia": EVERYONE,
    "completeInspection": frozenset({T}),
    "shareInspection": frozenset({A, T, M}),
    # read models
    "getWorkshopBoard": frozenset({A, T, M, AU}),
    "getVehicleProfile": EVERYONE,
    "getCustomerPortal": frozenset({C, A, M, AU}),
    "getTechnicianWorkload": frozenset({A, T, M, AU}),
    "getInspectionSummary": EVERYONE,
    "getKpis": frozenset({M, AU}),
    # lists and searches (issue 11): customers' lists hold only their own rows
    "listCustomers": frozenset({C, A, M, AU}),
    "listVehicles": EVERYONE,
    "listStaff": frozenset({A, T, M, AU}),
    "listInspections": EVERYONE,
    "listRepairOrders": EVERYONE,
    "getInspectionTemplate": EVERYONE,
    # audit
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


# Operations authorised by an emailed link's token instead of a role (a router of their own,
# no bearer token): the link names one order's current quote and its customer. The rules are
# in ``regenzet.application.quote_approval`` (ADR 0016).
LINK_OPERATIONS: frozenset[str] = frozenset(
    {"getQuoteApproval", "approveJobByLink", "declineJobByLink"}
)


# Operations authorised by an HMAC signature the API minted instead of a role (a router of
# their own, no bearer token): the local media backend's upload ticket and download link, the
# stand-ins for S3's presigned POST and GET (ADR 0041). Mounted only with local media.
SIGNED_OPERATIONS: frozenset[str] = frozenset({"uploadMediaFile", "downloadMediaFile"})


def allowed(operation_id: str, role: Role) -> bool:
    return role in POLICY.get(operation_id, frozenset())


# Object-level rules, keyed by the path parameter that names the record (the HTTP handlers call
# ``regenzet.application.access`` for exactly these). Operations that take none of them have
# no object-level rule beyond the role.
OBJECT_RULES: dict[str, str] = {
    "customer_id": "a customer reaches only their own customer record",
    "vehicle_id": "a customer reaches only the vehicles they own",
    "repair_order_id": "a customer reaches only their own repair orders",
    "inspection_id": "a customer reaches only inspections of their own vehicles, once shared",
}
# Rules that hold for one operation only.
OPERATION_RULES: dict[str, str] = {
    "getTechnicianWorkload": "a technician reaches only their own workload",
}
_ROLE_ORDER = (C, A, T, M, AU)


def describe_access(operation_id: str, path_parameters: list[str]) -> str:
    """The access paragraph of an operation's OpenAPI description, generated from this table
    so the document cannot drift from what the guard enforces."""
    roles = POLICY.get(operation_id, frozenset())
    if not roles:
        return "**Access:** no role may call this operation."
    names = ", ".join(role.value for role in _ROLE_ORDER if role in roles)
    text = f"**Roles:** {names}. Other roles get a 403."
    rules = [OBJECT_RULES[p] for p in path_parameters if p in OBJECT_RULES and C in roles]
    if operation_id in OPERATION_RULES:
        rules.append(OPERATION_RULES[operation_id])
    if rules:
        text += (
            f" **Object rule:** {'; '.join(rules)}; any other record is a 404 naming only the id "
            "asked for."
        )
    return text
