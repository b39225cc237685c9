"""One Postgres connection budget per process (ADR 0034): split among the stores, never more."""

from __future__ import annotations

import pytest

from regenzet.adapters.backends import PoolShares, PostgresBackend
from regenzet.entrypoints.bootstrap import backend
from regenzet.entrypoints.settings import MIN_DB_POOL_SIZE, Settings, SettingsError

URL = "postgresql://app@db.internal:5432/regenzet"


@pytest.mark.parametrize("total", [MIN_DB_POOL_SIZE, 12, 20, 57])
def test_the_shares_add_up_to_the_budget_and_every_store_gets_some(total: int) -> None:
    shares = PoolShares.of(total)

    assert shares.event_store + shares.read_models + shares.chain + shares.readers == total
    assert min(shares.event_store, shares.read_models) >= 1
    assert shares.event_store >= shares.read_models


def test_a_budget_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        PoolShares.of(MIN_DB_POOL_SIZE - 1)
    with pytest.raises(SettingsError, match="REGENZET_DB_POOL_SIZE"):
        Settings.from_env({"REGENZET_DB_POOL_SIZE": str(MIN_DB_POOL_SIZE - 1)})


def test_the_event_store_pool_is_sized_from_its_share() -> None:
    settings = Settings.from_env({"REGENZET_DATABASE_URL": URL, "REGENZET_DB_POOL_SIZE": "30"})
    chosen = backend(settings)

    assert isinstance(chosen, PostgresBackend)
    shares = PoolShares.of(30)
    env = chosen.env
    assert int(env["POSTGRES_POOL_SIZE"]) + int(env["POSTGRES_MAX_OVERFLOW"]) == shares.event_store
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env  # ADR 0004
    assert env["POSTGRES_LOCK_TIMEOUT"] == str(settings.pg_lock_timeout)


@pytest.mark.parametrize("replaced", ["REGENZET_PG_POOL_SIZE", "REGENZET_PG_MAX_OVERFLOW"])
def test_the_replaced_pool_settings_are_refused_naming_the_new_one(replaced: str) -> None:
    with pytest.raises(SettingsError, match="REGENZET_DB_POOL_SIZE") as refused:
        Settings.from_env({replaced: "5"})
    assert replaced in str(refused.value)
