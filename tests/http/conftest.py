"""An API over a real store (SQLite in a temp dir, or Postgres) seeded with the demo garage,
driven through Litestar's TestClient with tokens signed by the local key pair."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
from litestar.testing import TestClient

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.identity import Principal
from regenzet.application.media import MediaStorage
from regenzet.application.projections import Follower
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Role
from regenzet.entrypoints.bootstrap import Bootstrap, Overrides, token_issuer
from regenzet.entrypoints.demo import DemoLogin, demo_id, demo_logins, seed_demo
from regenzet.entrypoints.http.app import create_app
from regenzet.entrypoints.http.routing import HttpServices
from regenzet.entrypoints.settings import Settings

from ..conftest import postgres_store_env


@attrs.define
class Api:
    client: TestClient[Any]
    workshop: Workshop
    clock: ManualClock
    settings: Settings
    services: HttpServices
    logins: dict[str, DemoLogin]
    followers: list[Follower] = attrs.field(factory=list)

    def catch_up(self) -> None:
        """Brings every read model up to the head of the log (what the runner does live)."""
        for follower in self.followers:
            follower.catch_up()

    def token(
        self,
        role: Role,
        *,
        subject: str | None = None,
        customer_id: UUID | None = None,
        staff_id: UUID | None = None,
        ttl: timedelta = timedelta(minutes=30),
    ) -> str:
        principal = Principal(
            subject=subject or f"{role.value}-subject",
            role=role,
            customer_id=customer_id,
            staff_id=staff_id,
        )
        return token_issuer(self.settings).issue(principal, ttl=ttl)

    def auth(self, name: str, **headers: str) -> dict[str, str]:
        """Headers for the demo person ``name`` (sanne, lukas, eva, pieter, noor, ines...)."""
        login = self.logins[name]
        token = self.token(
            login.role,
            subject=login.subject,
            customer_id=login.customer_id,
            staff_id=login.staff_id,
        )
        return {"Authorization": f"Bearer {token}", **headers}


def demo_settings(data_dir: Path, **changes: Any) -> Settings:
    """Local settings with the rate limits off unless ``changes`` turn them on."""
    defaults: dict[str, Any] = {"rate_limit_per_ip": 0, "rate_limit_per_subject": 0}
    return attrs.evolve(Settings(data_dir=data_dir, database_url=None), **(defaults | changes))


def build_api(
    data_dir: Path,
    env: dict[str, str],
    settings: Settings | None = None,
    *,
    seed: bool = True,
    media_storage: MediaStorage | None = None,
) -> Iterator[Api]:
    """The API over ``env``'s store: the demo garage, or a fresh empty store (``seed=False``);
    media under ``data_dir`` unless ``media_storage`` is given (say on a manual clock)."""
    settings = settings or demo_settings(data_dir)
    clock = ManualClock(
        (datetime.now(UTC) - timedelta(days=6)).replace(hour=7, minute=30, second=0, microsecond=0)
    )
    # Composed by the bootstrap, as `regenzet serve` is, on the test's store and clock; the
    # followers are stepped by the tests (catch_up) instead of a background thread.
    boot = Bootstrap(
        settings,
        Overrides(
            backend=env, clock=clock, followers_in_process=False, media_storage=media_storage
        ),
    )
    workshop = boot.workshop
    if seed:
        seed_demo(workshop, clock)
    parts = boot.http_parts()
    for follower in parts.followers:
        follower.catch_up()
    chain = boot.chain_follower()
    chain.check_schema()
    chain.checkpoint()
    app = create_app(parts.services)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(
                client, workshop, clock, settings, parts.services, demo_logins(), parts.followers
            )
    finally:
        parts.close()
        for closable in (chain.store, chain.reader):
            closable.close()
        boot.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The demo garage behind the API, on SQLite and on Postgres."""
    if request.param == "sqlite":
        env = sqlite_env(tmp_path / "regenzet.db")
    else:
        env = postgres_store_env(
            request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
        )
    yield from build_api(tmp_path, env)


@pytest.fixture
def empty_api(tmp_path: Path) -> Iterator[Api]:
    """A fresh data dir: nothing in the log yet (the first run of a new garage)."""
    yield from build_api(tmp_path, sqlite_env(tmp_path / "regenzet.db"), seed=False)


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    """The demo garage behind the API on SQLite only (for suites that need no second store)."""
    yield from build_api(tmp_path, sqlite_env(tmp_path / "regenzet.db"))


def order_id(key: str) -> UUID:
    return demo_id(f"repair-order:{key}")


def customer_id(key: str) -> UUID:
    return demo_id(f"customer:{key}")


def staff_id(key: str) -> UUID:
    return demo_id(f"staff:{key}")
