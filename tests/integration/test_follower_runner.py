"""The follower runner keeps read models live: woken by NOTIFY on Postgres, polling on SQLite,
and a lost notification never stalls it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from regenzet.adapters.backends import ListenWaker, PollingWaker
from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import build_followers, postgres_conninfo, workshop_for
from regenzet.entrypoints.followers import FollowerRunner
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
    runner = FollowerRunner(followers, PollingWaker())
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
    runner = FollowerRunner(followers, ListenWaker(postgres_conninfo(env), channel))
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
    runner = FollowerRunner(followers, ListenWaker(postgres_conninfo(env), "nobody_notifies_this"))
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
    runner = FollowerRunner(followers, PollingWaker())
    runner.start()
    try:
        lag = _reaches(runner, _register(workshop, 1), timeout=10)
    finally:
        runner.stop()
        store.close()
    assert failures["left"] == 0
    assert lag is not None


def test_a_follower_that_keeps_failing_does_not_stop_the_others(
    sqlite_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = sqlite_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, None))
    broken = followers[0]

    def always_fails() -> int:
        raise ValueError("a bug in one projection")

    broken.step = always_fails  # type: ignore[method-assign]
    runner = FollowerRunner(followers, PollingWaker())
    runner.start()
    try:
        position = _register(workshop, 1)
        others = followers[1:]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(f.position() < position for f in others):
            time.sleep(0.01)
    finally:
        runner.stop()
        store.close()
    assert [f.position() >= position for f in others] == [True] * len(others)
    assert broken.position() < position


def test_the_postgres_log_reader_reconnects_after_its_connection_is_killed(
    postgres_workshop: tuple[Workshop, dict[str, str]], postgres_dsn: str
) -> None:
    import psycopg

    from regenzet.entrypoints.bootstrap import event_log_reader

    workshop, env = postgres_workshop
    reader = event_log_reader(env, workshop)
    try:
        _register(workshop, 1)
        assert len(reader.read(0, 10)) == 1
        pid = reader._conn.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The failure a follower's supervisor sees once: the driver's error, raised by the
        # adapter as the application's (ADR 0035).
        with pytest.raises(StoreUnavailableError) as failure:
            reader.read(0, 10)
        assert isinstance(failure.value.__cause__, psycopg.OperationalError)
        _register(workshop, 2)
        assert len(reader.read(0, 10)) == 2  # and its retry works
        assert reader.max_notification_id() >= 2
    finally:
        reader.close()


def test_a_postgres_rebuild_does_not_deadlock_with_a_live_runner(
    postgres_workshop: tuple[Workshop, dict[str, str]], tmp_path: Path, postgres_dsn: str
) -> None:
    """The runner's transaction has locked its position row when a rebuild starts; the
    rebuild must queue behind it rather than drop the tables the runner is about to read."""
    import threading

    workshop, env = postgres_workshop
    followers, store = build_followers(workshop, env, Settings(tmp_path, postgres_dsn))
    board = followers[0]
    board.check_schema()
    board_table = board.projection.tables[0].name
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            board.store.reset(board.projection)
        except BaseException as exc:
            errors.append(exc)

    try:
        with board.store.transaction(board.name) as tx:
            thread = threading.Thread(target=rebuild)
            thread.start()
            time.sleep(0.5)  # the rebuild is now waiting on a lock
            tx.get(board_table, "anything")
        thread.join(10)
        assert errors == []
        assert not thread.is_alive()
    finally:
        store.close()
