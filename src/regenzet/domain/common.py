"""Value objects and errors shared by every aggregate.

Everything here is JSON-native or has a transcoding registered by the application, so that
events and snapshots round-trip exactly through the store.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import NoReturn

import attrs


class Role(Enum):
    """Who is acting. ``system`` is used by automated processes (followers, demo seeding)."""

    CUSTOMER = "customer"
    ADVISOR = "advisor"
    TECHNICIAN = "technician"
    MANAGER = "manager"
    AUDITOR = "auditor"
    SYSTEM = "system"


@attrs.frozen
class Actor:
    """The subject that caused an event, recorded on every event (DESIGN §2)."""

    subject_id: str
    role: Role

    def __attrs_post_init__(self) -> None:
        if not self.subject_id or len(self.subject_id) > 255:
            raise DomainValidationError("actor.subject_id", "must be 1-255 characters")


# ---------------------------------------------------------------------------------------------
# Errors. The HTTP layer maps them to problem details; the CLI prints them on one line.
# ---------------------------------------------------------------------------------------------


class DomainError(Exception):
    """Base class of every rule the domain refuses to break."""


class DomainValidationError(DomainError):
    """A value is malformed or outside its physical/business range (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RuleViolationError(DomainError):
    """A business rule forbids the command in the aggregate's current situation (HTTP 409)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class InvalidStateError(RuleViolationError):
    """The command is outside the state machine; names the current state (HTTP 409)."""

    def __init__(self, command: str, current_state: str, allowed: tuple[str, ...] = ()) -> None:
        allowed_text = f" (allowed in: {', '.join(allowed)})" if allowed else ""
        super().__init__(
            "invalid_state",
            f"cannot {command} while {current_state}{allowed_text}",
        )
        self.command = command
        self.current_state = current_state


def fail(field: str, message: str) -> NoReturn:
    raise DomainValidationError(field, message)


def violate(rule: str, message: str) -> NoReturn:
    raise RuleViolationError(rule, message)


# ---------------------------------------------------------------------------------------------
# Money and quantities.
# ---------------------------------------------------------------------------------------------

CENT = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def money(value: Decimal | int | str) -> Decimal:
    """Rounds an amount to cents, half up (commercial rounding)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def check_currency(currency: str) -> str:
    if not _CURRENCY.match(currency):
        fail("currency", "must be an ISO 4217 code such as EUR")
    return currency


# The one decimal format commands accept and new events carry (ADR 0013): plain digits, at
# most 12 before and 6 after the point, no exponent, no negative zero. The HTTP edge publishes
# and enforces this very pattern; the domain refuses any other Decimal, so no adapter can
# record one. ``$`` is read as the end of the text (JSON Schema's meaning): use fullmatch.
CANONICAL_DECIMAL_PATTERN = r"^(?!-0+(\.0+)?$)-?[0-9]{1,12}(\.[0-9]{1,6})?$"
_CANONICAL_DECIMAL = re.compile(CANONICAL_DECIMAL_PATTERN, re.ASCII)


def is_canonical_decimal_text(text: str) -> bool:
    """Whether ``text`` is written in the canonical decimal format."""
    return _CANONICAL_DECIMAL.fullmatch(text) is not None


def check_canonical_decimal(field: str, value: Decimal) -> Decimal:
    """Refuses a Decimal whose exact written form is not canonical: ``Decimal("1E+2")``,
    ``Decimal("-0")``, ``Decimal("1.0000001")`` and 13-digit integers are all refused (their
    ``str`` is what the event log would store)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        fail(field, "must be a finite decimal number")
    if not is_canonical_decimal_text(str(value)):
        fail(
            field,
            "must be a plain decimal with at most 12 digits before and 6 after the point, "
            "without exponent or negative zero",
        )
    return value


_MICRO = Decimal("0.000001")


def canonical_copy(value: Decimal) -> Decimal:
    """A stored value (perhaps recorded before the canonical rule) as a new event may carry
    it: ``1E+2`` becomes ``100`` and ``-0`` becomes ``0`` (the same number), more than six
    decimals are rounded half-even to six. New events copy stored decimals (a vehicle's
    voltage into an inspection, a quoted line into the invoice, an inspection's SoC into the
    vehicle) through this, so they stay canonical while the stored events stay unchanged."""
    if is_canonical_decimal_text(str(value)) or not value.is_finite():
        return value
    if value.is_zero():
        value = abs(value)
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # pragma: no cover - finite values have an int exponent
        return value
    if exponent > 0:
        value = value.quantize(Decimal(1))
    elif exponent < -6:
        value = value.quantize(_MICRO, rounding=ROUND_HALF_EVEN)
    if value.is_zero():
        value = abs(value)
    return value


def check_decimal(field: str, value: Decimal, *, minimum: Decimal, maximum: Decimal) -> Decimal:
    """Validates a new, canonical decimal inside [minimum, maximum] (commands use this)."""
    check_canonical_decimal(field, value)
    return check_decimal_range(field, value, minimum=minimum, maximum=maximum)


def check_decimal_range(
    field: str, value: Decimal, *, minimum: Decimal, maximum: Decimal
) -> Decimal:
    """Validates a finite decimal inside [minimum, maximum], whatever its written form.

    Value objects use this: they are also rebuilt from stored events, and values recorded
    before the canonical rule (``1E+2``) must still load unchanged. The commands that take
    a value object check its decimals with ``check_decimal`` before recording it.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        fail(field, "must be a finite decimal number")
    if value < minimum or value > maximum:
        fail(field, f"must be between {minimum} and {maximum}")
    return value


def check_text(field: str, value: str, *, max_length: int = 200, required: bool = True) -> str:
    if not isinstance(value, str):
        fail(field, "must be text")
    stripped = value.strip()
    if required and not stripped:
        fail(field, "must not be empty")
    if len(stripped) > max_length:
        fail(field, f"must be at most {max_length} characters")
    return stripped


def check_aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        fail(field, "must be timezone-aware")
    return value


def is_expired(expires_on: date | None, today: date) -> bool:
    return expires_on is not None and expires_on < today
