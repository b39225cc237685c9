"""The vehicle owner: contact details and how (and when) they want to hear from the garage."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import Actor, check_text, fail

_EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        fail("email", "must be a valid email address")
    return email.lower()


def check_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    compact = re.sub(r"[\s().-]", "", phone)
    if not _PHONE.match(compact):
        fail("phone", "must be an international number such as +31 20 123 4567")
    return compact


@attrs.frozen
class NotificationPreferences:
    """Which channels the customer accepts and when messages must wait (quiet hours, local time)."""

    email: bool = True
    sms: bool = False
    quiet_hours_start: str | None = None
    quiet_hours_end: str | None = None
    timezone: str = "Europe/Amsterdam"

    def __attrs_post_init__(self) -> None:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            fail("preferences.quiet_hours", "give both start and end, or neither")
        for field, value in (
            ("preferences.quiet_hours_start", self.quiet_hours_start),
            ("preferences.quiet_hours_end", self.quiet_hours_end),
        ):
            if value is not None and not _HHMM.match(value):
                fail(field, "must be HH:MM (24-hour)")
        check_text("preferences.timezone", self.timezone, max_length=64)


class Customer(Aggregate):
    """A vehicle owner. Personal data lives only here and in read models, never in public events."""

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Registered(Aggregate.Created):
        """Version 2 added notification preferences; version 1 events upcast to the defaults
        (golden fixture: tests/golden/customer_registered_v1.json)."""

        class_version = 2
        name: str
        email: str
        phone: str | None
        preferences: NotificationPreferences
        actor: Actor

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Upcasters work on the stored JSON shape (ADR 0007): the defaults, as stored.
            state["preferences"] = attrs.asdict(NotificationPreferences())

    @classmethod
    def register(
        cls,
        *,
        name: str,
        email: str,
        phone: str | None,
        preferences: NotificationPreferences | None,
        actor: Actor,
        id: UUID | None = None,
    ) -> Customer:
        kwargs: dict[str, Any] = {
            "name": check_text("name", name, max_length=120),
            "email": check_email(email),
            "phone": check_phone(phone),
            "preferences": preferences or NotificationPreferences(),
            "actor": actor,
        }
        return cls(**kwargs, id=id)

    @event(Registered)
    def __init__(
        self,
        *,
        name: str,
        email: str,
        phone: str | None,
        preferences: NotificationPreferences,
        actor: Actor,
        id: UUID | None = None,
    ) -> None:
        self.name = name
        self.email = email
        self.phone = phone
        self.preferences = preferences
        self.registered_by = actor

    def change_contact(self, *, email: str, phone: str | None, actor: Actor) -> None:
        email, phone = check_email(email), check_phone(phone)
        if (email, phone) == (self.email, self.phone):
            return
        self._contact_changed(email=email, phone=phone, actor=actor)

    class ContactChanged(Aggregate.Event):
        email: str
        phone: str | None
        actor: Actor

    @event(ContactChanged)
    def _contact_changed(self, *, email: str, phone: str | None, actor: Actor) -> None:
        self.email = email
        self.phone = phone

    def change_preferences(self, *, preferences: NotificationPreferences, actor: Actor) -> None:
        if preferences == self.preferences:
            return
        self._preferences_changed(preferences=preferences, actor=actor)

    class PreferencesChanged(Aggregate.Event):
        preferences: NotificationPreferences
        actor: Actor

    @event(PreferencesChanged)
    def _preferences_changed(self, *, preferences: NotificationPreferences, actor: Actor) -> None:
        self.preferences = preferences


VALUE_TYPES: list[type] = [NotificationPreferences]
