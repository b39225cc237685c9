"""The one decimal format (ADR 0013): the domain refuses any Decimal whose written form is not
canonical, exactly the strings the published pattern matches, and stored values still load."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regenzet.domain.common import (
    CANONICAL_DECIMAL_PATTERN,
    DomainValidationError,
    check_canonical_decimal,
    check_decimal,
)
from regenzet.domain.repair_order import LabourLine

# JSON Schema's reading of the pattern: ``$`` is the end of the text.
PUBLISHED = re.compile(CANONICAL_DECIMAL_PATTERN.removesuffix("$") + r"\Z")


def accepted(value: Decimal) -> bool:
    try:
        check_canonical_decimal("x", value)
    except DomainValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "text", ["1E+2", "1e2", "-0", "-0.00", "1.0000001", "1234567890123", "0E-7", "NaN", "Infinity"]
)
def test_non_canonical_decimals_are_refused(text: str) -> None:
    assert not accepted(Decimal(text))


@pytest.mark.parametrize("text", ["0", "12.50", "-3.2", "999999999999.999999", "0.000001", "007"])
def test_canonical_decimals_are_accepted(text: str) -> None:
    assert accepted(Decimal(text))


decimal_texts = st.one_of(
    st.from_regex(PUBLISHED, fullmatch=True),
    st.text(alphabet="0123456789.-+eE_ ", max_size=20),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)


@given(decimal_texts)
def test_the_domain_accepts_a_decimal_exactly_when_its_text_is_canonical(text: str) -> None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return
    # Decimal drops leading zeros ("007" is 7): what the event log stores is str(value).
    assert accepted(value) == (PUBLISHED.match(str(value)) is not None)
    if PUBLISHED.match(text) and value.is_finite():
        assert accepted(value)


def test_commands_refuse_a_non_canonical_line_naming_it_as_the_client_does() -> None:
    from .test_repair_order import ADVISOR, open_order

    order = open_order()
    with pytest.raises(DomainValidationError) as err:
        order.add_job(
            job_id="tyres",
            title="Tyres",
            labour=[
                LabourLine("Fit", Decimal("1"), Decimal("85")),
                LabourLine("Balance", Decimal("1E+1"), Decimal("85")),
            ],
            parts=[],
            hv_work=False,
            required_hv_level=None,
            actor=ADVISOR,
        )
    assert err.value.field == "labour[1].hours"
    assert "tyres" not in order.jobs


def test_a_line_recorded_before_the_rule_still_loads() -> None:
    # Value objects are rebuilt from stored events: a stored "1E+1" must stay readable.
    line = LabourLine("Fit", Decimal("1E+1"), Decimal("85"))
    assert line.amount == Decimal("850.00")
    with pytest.raises(DomainValidationError):
        check_decimal("labour.hours", line.hours, minimum=Decimal(0), maximum=Decimal(200))


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**11), max_value=10**11))
def test_a_stored_decimal_is_copied_into_a_new_event_canonically(value: Decimal) -> None:
    from regenzet.domain.common import canonical_copy

    copy = canonical_copy(value)
    assert accepted(copy)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent >= -6:
        assert copy == value  # the same number, only written canonically
    else:
        assert abs(copy - value) <= Decimal("0.0000005")
