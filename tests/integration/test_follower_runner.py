"""The follower runner keeps read models live: woken by NOTIFY on Postgres, polling on SQLite,
and a lost notification never stalls it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.container import workshop_for
from regenzet.entrypoints.followers import FollowerRunner, Waker, build_followers
from regenzet.entrypoints.settings import Settings

from ..conftest import postgres_store_env

ADVISOR = Actor("advisor", Role.ADVISOR)


def _register(workshop: Workshop, n: int) -> int:
    receipt = workshop.register_customer(
        name=f"Customer {n}", email=f"c{n}@example.com", phone=None, actor=ADVISOR
    )
    assert receipt.position is not None
    return receipt.position


def _reaches(runner: FollowerRunner, position: int, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(f.position() >= position for f in runner.followers):
            return time.monotonic() - started
        time.sleep(0.005)
    return None


@pytest.fixture
def sqlite_workshop(tmp_path: Path) -> Iterator[tuple[Workshop, dict[str, str]]]:
    env = sqlite_env(tmp_path / "regenzet.db")
    workshop = workshop_for(env, ManualClock(datetime.now(UTC)))
    yield workshop, env
    workshop.close()


@pytest.fixture
def postgres_workshop(
    postgres_dsn: str, postgres_schema: str
) -> Iterator[tuple[Workshop, dict[str, str]]]:
    env = postgres_store_env(postgres_dsn, postgres_schema)
    workshop = workshop_for(env, ManualClock(datetime.now(UTC)))
    yield workshop, env
    workshop.close()


def test_sqlite_followers_poll_and_stay_live(
    sqlite_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = sqlite_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    runner = FollowerRunner(followers, Waker(env, None))
    runner.start()
    try:
        lags = [_reaches(runner, _register(workshop, n), timeout=5) for n in range(20)]
    finally:
        runner.stop()
        store.close()
    assert None not in lags
    assert max(lag for lag in lags if lag is not None) < 1.0


@pytest.mark.postgres
def test_postgres_followers_are_woken_by_notify(
    postgres_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = postgres_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    channel = workshop.recorder.channel_name  # type: ignore[attr-defined]
    runner = FollowerRunner(followers, Waker(env, channel))
    runner.start()
    try:
        time.sleep(0.2)  # LISTEN is in place
        lags = [_reaches(runner, _register(workshop, n), timeout=5) for n in range(20)]
    finally:
        runner.stop()
        store.close()
    assert None not in lags
    # Far below the 1 s fallback poll: the NOTIFY woke it.
    assert sorted(lag for lag in lags if lag is not None)[len(lags) // 2] < 0.3


@pytest.mark.postgres
def test_a_lost_notify_does_not_stall_the_postgres_follower(
    postgres_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = postgres_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    # Listening on a channel nobody notifies: every notification is "lost".
    runner = FollowerRunner(followers, Waker(env, "nobody_notifies_this"))
    runner.start()
    try:
        time.sleep(0.2)
        lag = _reaches(runner, _register(workshop, 1), timeout=5)
    finally:
        runner.stop()
        store.close()
    assert lag is not None  # caught up by the fallback poll (1 s)


def test_the_runner_survives_a_failing_step_and_resumes(
    sqlite_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = sqlite_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    board = followers[0]
    real_step = board.step
    failures = {"left": 3}

    def flaky_step() -> int:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("connection lost")
        return real_step()

    board.step = flaky_step  # type: ignore[method-assign]
    runner = FollowerRunner(followers, Waker(env, None))
    runner.start()
    try:
        lag = _reaches(runner, _register(workshop, 1), timeout=10)
    finally:
        runner.stop()
        store.close()
    assert failures["left"] == 0
    assert lag is not None
