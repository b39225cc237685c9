"""The configured tax rate is a canonical decimal (ADR 0013): the domain refuses any other at
invoicing, so a rate like ``0.2100000`` must stop the server at start, not fail every invoice
with a ``tax_rate`` error the advisor cannot fix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from regenzet.entrypoints.settings import Settings, SettingsError


@pytest.mark.parametrize("raw", ["0.2100000", "-0", "1E-7", "-0.00"])
def test_a_non_canonical_tax_rate_is_refused_at_start(raw: str) -> None:
    with pytest.raises(SettingsError, match="REGENZET_TAX_RATE"):
        Settings.from_env({"REGENZET_TAX_RATE": raw})


@pytest.mark.parametrize("raw", ["0.21", "0", "1", "0.0825"])
def test_a_canonical_tax_rate_is_accepted(raw: str) -> None:
    assert Settings.from_env({"REGENZET_TAX_RATE": raw}).tax_rate == Decimal(raw)
