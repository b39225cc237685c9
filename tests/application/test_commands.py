"""The command objects and their one access check (ADRs 0036, 0037).

Every write is a command run by ``Workshop.execute`` with its caller. These tests hold for all
commands at once, so a new command cannot skip them: each has a use case; a command handed to
its aggregate method field by field names exactly that method's parameters; and every command
that changes an existing record, run by a customer on another customer's record, is refused
as not found and writes nothing.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from regenzet.application import commands
from regenzet.application.access import InProcess, LinkHolder, approval_channel
from regenzet.application.errors import NotFoundError
from regenzet.application.identity import Principal
from regenzet.application.workshop import _APPLIED, _USE_CASES, Workshop
from regenzet.domain.common import DomainValidationError, Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.repair_order import ApprovalChannel

from .conftest import ADVISOR, Garage, hv_job_order

BASES = {
    commands.Command,
    commands.CustomerCommand,
    commands.StaffCommand,
    commands.VehicleCommand,
    commands.RepairOrderCommand,
    commands.InspectionCommand,
    commands.QuotedJob,
    commands.JobDecision,
    commands.LabourClock,
}


def all_commands() -> list[type[commands.Command]]:
    found = [
        value
        for value in vars(commands).values()
        if isinstance(value, type) and issubclass(value, commands.Command)
    ]
    return sorted(set(found) - BASES, key=lambda c: c.__name__)


def test_every_command_has_exactly_one_use_case() -> None:
    assert set(all_commands()) == set(_USE_CASES)
    assert len(all_commands()) == 44  # 40, minus AttachMedia, plus 5 media (issue 13)


def test_commands_are_frozen() -> None:
    command = commands.RecordOdometer(vehicle_id=uuid4(), km=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        command.km = 2  # type: ignore[misc]


@pytest.mark.parametrize("command_type", sorted(_APPLIED, key=lambda c: c.__name__))
def test_an_applied_command_names_exactly_its_aggregate_methods_parameters(
    command_type: type[commands.Command],
) -> None:
    _, method = _APPLIED[command_type]
    parameters = set(inspect.signature(method).parameters) - {"self", "actor"}
    fields = {f.name for f in attrs.fields(command_type)} - {
        str(command_type.target),
        "expected_version",
    }
    assert fields == parameters


def test_the_keyword_use_cases_build_the_command_and_refuse_an_id_for_a_create(
    workshop: Workshop, garage: Garage
) -> None:
    receipt = workshop.record_odometer(garage.vehicle, km=49_000, actor=ADVISOR)
    assert workshop.get_vehicle(garage.vehicle).odometer_km == 49_000
    assert receipt.id == garage.vehicle
    with pytest.raises(TypeError, match="creates a record"):
        workshop.register_customer(uuid4(), name="X", email="x@example.nl", actor=ADVISOR)
    assert Workshop.record_odometer.__name__ == "record_odometer"


# ---------------------------------------------------------------------------------------------
# One object check, in the use case, for every command on an existing record.
# ---------------------------------------------------------------------------------------------


def _filler(field: attrs.Attribute[Any], hint: Any, ids: dict[str, UUID]) -> Any:
    """A plausible value for a required field: ids of the garage's records where a field
    names one, else a value of the field's type."""
    if field.name in ids:
        return ids[field.name]
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is not None and issubclass(origin, Sequence):
        return []
    if isinstance(hint, type) and issubclass(hint, Enum):
        return next(iter(hint))
    simple: dict[Any, Any] = {
        str: "x",
        int: 1,
        bool: False,
        Decimal: Decimal("1"),
        UUID: uuid4(),
        date: date(2030, 1, 1),
        datetime: datetime(2030, 1, 1),
        NotificationPreferences: NotificationPreferences(),
    }
    return simple[hint]


def _command_on(command_type: type[commands.Command], ids: dict[str, UUID]) -> commands.Command:
    hints = typing.get_type_hints(command_type)
    values = {
        f.name: _filler(f, hints[f.name], ids)
        for f in attrs.fields(command_type)
        if f.default is attrs.NOTHING
    }
    return command_type(**values)


def started_inspection(workshop: Workshop, garage: Garage) -> UUID:
    """An inspection of the first customer's vehicle, not shared."""
    return workshop.start_inspection(
        vehicle_id=garage.vehicle,
        repair_order_id=None,
        technician_id=garage.tech1,
        actor=garage.actor(garage.tech1),
    ).id


TARGETED = [c for c in all_commands() if c.target is not None]


@pytest.mark.parametrize("command_type", TARGETED, ids=lambda c: c.__name__)
def test_a_customer_running_any_command_on_another_customers_record_finds_nothing(
    workshop: Workshop, garage: Garage, command_type: type[commands.Command]
) -> None:
    order = hv_job_order(workshop, garage)  # the first customer's
    inspection = started_inspection(workshop, garage)
    ids = {
        "customer_id": garage.customer,
        "vehicle_id": garage.vehicle,
        "repair_order_id": order,
        "inspection_id": inspection,
        "staff_id": garage.tech3,
        "technician_id": garage.tech3,
        "new_owner_id": garage.customer,
    }
    command = _command_on(command_type, ids)
    other = Principal("lukas", Role.CUSTOMER, customer_id=garage.other_customer)
    before = workshop.recorder.max_notification_id()

    with pytest.raises(NotFoundError) as refused:
        workshop.execute(command, other)
    # Refused for a record that exists (the rule, not a missing id), and nothing written.
    assert refused.value.aggregate_id in {str(i) for i in ids.values()}
    assert workshop.recorder.max_notification_id() == before
    # Staff reach the same record: the refusal was the customer's alone.
    staff = Principal("eva", Role.ADVISOR, staff_id=uuid4())
    refusal = _refusal(workshop, command, staff)  # the domain may refuse the filler values
    # ...and a filler id of something inside the record (a media id) may be unknown; the
    # record itself was reached.
    assert not (
        isinstance(refusal, NotFoundError)
        and refusal.aggregate_id in {str(i) for i in ids.values()}
    ), refusal


def _refusal(workshop: Workshop, command: commands.Command, by: Principal) -> Exception | None:
    try:
        workshop.execute(command, by)
    except Exception as exc:  # the refusal is the result
        return exc
    return None


def test_a_customer_reaches_their_own_order_and_decides_in_the_portal(
    workshop: Workshop, garage: Garage
) -> None:
    order = hv_job_order(workshop, garage, approve=False)
    owner = Principal("sanne", Role.CUSTOMER, customer_id=garage.customer)
    workshop.execute(commands.ApproveJob(repair_order_id=order, job_id="hv-pump"), owner)
    job = next(j for j in workshop.get_repair_order(order).jobs if j.job_id == "hv-pump")
    assert job.approval_channel == "portal"


def test_a_link_reaches_only_its_own_order(workshop: Workshop, garage: Garage) -> None:
    order = hv_job_order(workshop, garage, approve=False)
    elsewhere = LinkHolder(customer_id=garage.customer, repair_order_id=uuid4())
    with pytest.raises(NotFoundError):
        workshop.execute(commands.ApproveJob(repair_order_id=order, job_id="hv-pump"), elsewhere)
    holder = LinkHolder(customer_id=garage.customer, repair_order_id=order)
    workshop.execute(commands.DeclineJob(repair_order_id=order, job_id="filter"), holder)
    job = next(j for j in workshop.get_repair_order(order).jobs if j.job_id == "filter")
    assert job.declined_channel == "email_link"


def test_a_link_only_decides_jobs_nothing_else_of_its_order_or_its_customer(
    workshop: Workshop, garage: Garage
) -> None:
    order = hv_job_order(workshop, garage, approve=False)
    holder = LinkHolder(customer_id=garage.customer, repair_order_id=order)
    before = workshop.get_repair_order(order).version
    with pytest.raises(NotFoundError):
        workshop.execute(commands.CancelRepairOrder(repair_order_id=order, reason="x"), holder)
    with pytest.raises(NotFoundError):
        workshop.execute(
            commands.ChangeCustomerContact(
                customer_id=garage.customer, email="someone@example.com", phone=None
            ),
            holder,
        )
    assert workshop.get_repair_order(order).version == before


def test_registering_a_vehicle_for_someone_else_says_not_found_before_any_duplicate(
    workshop: Workshop, garage: Garage
) -> None:
    # A confined caller learns nothing of taken VINs or plates for an owner it cannot reach.
    taken = workshop.get_vehicle(garage.vehicle)
    stranger = Principal("x", Role.CUSTOMER, customer_id=uuid4())
    with pytest.raises(NotFoundError) as refused:
        workshop.execute(
            commands.RegisterVehicle(
                vin=taken.vin,
                plate=taken.plate,
                make=None,
                model="Model 3",
                year=2020,
                battery_kwh=Decimal("75"),
                nominal_voltage_v=Decimal("400"),
                owner_id=garage.customer,
            ),
            stranger,
        )
    assert "already" not in str(refused.value)


# ---------------------------------------------------------------------------------------------
# The approval-channel rule (ADR 0016), now the application's.
# ---------------------------------------------------------------------------------------------

CUSTOMER = Principal("sanne", Role.CUSTOMER, customer_id=uuid4())
ADVISOR_EVA = Principal("eva", Role.ADVISOR, staff_id=uuid4())


@pytest.mark.parametrize(
    ("by", "requested", "recorded"),
    [
        (CUSTOMER, None, ApprovalChannel.PORTAL),
        (CUSTOMER, ApprovalChannel.PORTAL, ApprovalChannel.PORTAL),
        (ADVISOR_EVA, ApprovalChannel.PHONE, ApprovalChannel.PHONE),
        (ADVISOR_EVA, ApprovalChannel.EMAIL, ApprovalChannel.EMAIL),
        (LinkHolder(uuid4(), uuid4()), None, ApprovalChannel.EMAIL_LINK),
        (InProcess(ADVISOR), ApprovalChannel.EMAIL_LINK, ApprovalChannel.EMAIL_LINK),
    ],
)
def test_the_channel_recorded(
    by: Any, requested: ApprovalChannel | None, recorded: ApprovalChannel
) -> None:
    assert approval_channel(by, requested) is recorded


@pytest.mark.parametrize(
    ("by", "requested", "message"),
    [
        (CUSTOMER, ApprovalChannel.PHONE, "customers approve and decline in the portal"),
        (CUSTOMER, ApprovalChannel.EMAIL_LINK, "customers approve and decline in the portal"),
        (ADVISOR_EVA, None, "staff must say how the customer decided"),
        (ADVISOR_EVA, ApprovalChannel.PORTAL, "staff must say how the customer decided"),
        (ADVISOR_EVA, ApprovalChannel.EMAIL_LINK, "email_link is recorded only by the emailed"),
    ],
)
def test_the_channels_refused(by: Any, requested: ApprovalChannel | None, message: str) -> None:
    with pytest.raises(DomainValidationError, match=message) as refused:
        approval_channel(by, requested)
    assert refused.value.field == "channel"


def test_a_query_for_a_caller_applies_the_same_rule_after_its_one_load(
    workshop: Workshop, garage: Garage
) -> None:
    owner = Principal("sanne", Role.CUSTOMER, customer_id=garage.customer)
    other = Principal("lukas", Role.CUSTOMER, customer_id=garage.other_customer)
    order = hv_job_order(workshop, garage)
    inspection = started_inspection(workshop, garage)
    assert workshop.get_customer(garage.customer, by=owner).id == garage.customer
    assert workshop.get_vehicle(garage.vehicle, by=owner).id == garage.vehicle
    assert workshop.get_repair_order(order, by=owner).id == order
    for read, record in (
        (workshop.get_customer, garage.customer),
        (workshop.get_vehicle, garage.vehicle),
        (workshop.get_repair_order, order),
        (workshop.get_inspection, inspection),
    ):
        with pytest.raises(NotFoundError):
            read(record, by=other)
    with pytest.raises(NotFoundError):  # the owner's, but not shared yet
        workshop.get_inspection(inspection, by=owner)
    assert workshop.get_inspection(inspection).id == inspection  # the process itself
