"""An order's amounts fit the canonical decimal format (ADR 0013): 100 part lines of 10,000 x
1,000,000 are each valid, but their sum (and the invoice total with tax) would have 13 digits
before the point, so QuoteSent and Invoiced would carry decimals no client could send back.
Adding or revising a job beyond the bound is refused, naming the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from regenzet.domain.common import RuleViolationError, is_canonical_decimal_text
from regenzet.domain.repair_order import MAX_ORDER_SUBTOTAL, PartLine

from .test_repair_order import ADVISOR, add_job, open_order

BIG = PartLine("P-1", "Pack", Decimal("10000"), Decimal("1000000"))  # 10^10 per line


def test_a_job_worth_more_than_the_format_holds_is_refused() -> None:
    order = open_order()
    with pytest.raises(RuleViolationError) as err:
        add_job(order, "huge", labour=[], parts=[BIG] * 100)
    assert err.value.rule == "order_amount_too_large"
    assert order.jobs == {}


def test_jobs_adding_up_beyond_the_bound_are_refused_and_a_revision_counts_once() -> None:
    order = open_order()
    add_job(order, "a", labour=[], parts=[BIG] * 40)
    with pytest.raises(RuleViolationError):
        add_job(order, "b", labour=[], parts=[BIG] * 20)
    # Revising "a" replaces its amount; it is not added to itself.
    order.revise_job(
        job_id="a",
        title="A",
        labour=[],
        parts=[BIG] * 49,
        hv_work=False,
        required_hv_level=None,
        actor=ADVISOR,
    )
    # The largest subtotal allowed leaves room for tax at any rate up to 100 %.
    assert is_canonical_decimal_text(str(MAX_ORDER_SUBTOTAL * 2))
    assert order.quote_totals() <= MAX_ORDER_SUBTOTAL
