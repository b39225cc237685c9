"""Settings the container deployment relies on: the followers switch and a database password
given apart from the URL (ECS injects one variable per secret field)."""

from __future__ import annotations

import pytest

from regenzet.adapters.persistence import postgres_env
from regenzet.entrypoints.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", True),
        ("1", True),
        ("on", True),
        ("TRUE", True),
        ("off", False),
        ("0", False),
        ("no", False),
        ("False", False),
    ],
)
def test_followers_run_in_process_unless_turned_off(raw: str, expected: bool) -> None:
    env = {"REGENZET_FOLLOWERS_IN_PROCESS": raw} if raw else {}
    assert Settings.from_env(env).followers_in_process is expected


def test_a_followers_switch_that_is_neither_on_nor_off_is_refused() -> None:
    with pytest.raises(SettingsError, match="REGENZET_FOLLOWERS_IN_PROCESS must be on or off"):
        Settings.from_env({"REGENZET_FOLLOWERS_IN_PROCESS": "sometimes"})


def test_a_generated_password_with_url_characters_reaches_the_driver_unchanged() -> None:
    password = "p@ss:w/rd?#%[]!"  # what a generated secret may hold
    settings = Settings.from_env(
        {
            "REGENZET_DATABASE_URL": "postgresql://regenzet_app@db.internal:5433/regenzet",
            "REGENZET_DATABASE_PASSWORD": password,
        }
    )
    assert settings.database_url is not None
    env = postgres_env(
        settings.database_url,
        pool_size=1,
        max_overflow=0,
        connect_timeout=1,
        lock_timeout=1,
        idle_in_transaction_timeout=1,
    )
    assert env["POSTGRES_PASSWORD"] == password
    assert env["POSTGRES_USER"] == "regenzet_app"
    assert env["POSTGRES_HOST"] == "db.internal"
    assert env["POSTGRES_PORT"] == "5433"
    assert env["POSTGRES_DBNAME"] == "regenzet"
    assert password not in repr(settings)


def test_the_password_replaces_one_in_the_url() -> None:
    settings = Settings.from_env(
        {
            "REGENZET_DATABASE_URL": "postgresql://app:old@127.0.0.1/regenzet",
            "REGENZET_DATABASE_PASSWORD": "new",
        }
    )
    assert settings.database_url == "postgresql://app:new@127.0.0.1/regenzet"


def test_a_password_without_a_database_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="REGENZET_DATABASE_URL is not"):
        Settings.from_env({"REGENZET_DATABASE_PASSWORD": "secret"})
