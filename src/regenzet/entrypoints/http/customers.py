"""Customers: registration, contact details and notification preferences."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response
from litestar.params import FromPath, JSONBody

from regenzet.application import commands
from regenzet.application.views import CustomerView
from regenzet.domain.customer import NotificationPreferences
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    Caller,
    Services,
    WritesDep,
    command,
    query,
    viewed,
)
from regenzet.entrypoints.http.schemas import (
    ChangeContact,
    CommandResult,
    PreferencesIn,
    RegisterCustomer,
)


def preferences(body: PreferencesIn) -> NotificationPreferences:
    return NotificationPreferences(
        email=body.email,
        sms=body.sms,
        quiet_hours_start=body.quiet_hours_start,
        quiet_hours_end=body.quiet_hours_end,
        timezone=body.timezone,
    )


class CustomerController(Controller):
    path = f"{API_PREFIX}/customers"
    tags = ["customers"]

    @command("/", "registerCustomer", "Register a customer", create=True)
    def register(
        self, data: JSONBody[RegisterCustomer], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.RegisterCustomer,
            data,
            preferences=preferences(data.preferences) if data.preferences else None,
            location=lambda r: f"{API_PREFIX}/customers/{r.id}",
        )

    @query("/{customer_id:uuid}", "getCustomer", "A customer's record")
    def get(
        self, customer_id: FromPath[UUID], services: Services, principal: Caller
    ) -> Response[CustomerView]:
        view = services.workshop.get_customer(customer_id, by=principal)
        return viewed(view, view.version)

    @command("/{customer_id:uuid}/contact", "changeCustomerContact", "Change contact details")
    def change_contact(
        self, customer_id: FromPath[UUID], data: JSONBody[ChangeContact], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(commands.ChangeCustomerContact, data, customer_id=customer_id)

    @command(
        "/{customer_id:uuid}/preferences",
        "changeCustomerPreferences",
        "Change notification preferences",
    )
    def change_preferences(
        self, customer_id: FromPath[UUID], data: JSONBody[PreferencesIn], writes: WritesDep
    ) -> Response[CommandResult]:
        return writes.submit(
            commands.ChangeCustomerPreferences,
            data,
            body_is_one_field=True,
            customer_id=customer_id,
            preferences=preferences(data),
        )
