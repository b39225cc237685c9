"""Stopping the services the way ECS does (SIGTERM): the followers finish the batch they are
applying and exit 0 at a batch boundary, and the health check tells a live loop from a dead one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from regenzet.adapters.backends import PollingWaker
from regenzet.entrypoints.followers import FollowerRunner

from .test_cli import run
from .test_projections import _head, _positions, _prefill, _sqlite_checksum, follow_to_head


class _Batches:
    """A follower that applies batches of a pretend log; the first one asks the runner to stop
    while its batch is in flight (as SIGTERM does)."""

    def __init__(self, name: str, runner_box: list[FollowerRunner], stop_during_step: bool):
        self.name = name
        self.applied: list[int] = []
        self._box = runner_box
        self._stop = stop_during_step

    def check_schema(self) -> None:
        pass

    def step(self) -> int:
        if self._stop:
            self._box[0].stop_event.set()
            time.sleep(0.05)  # the batch is still being applied when the stop arrives
        self.applied.append(len(self.applied) + 1)
        return 10

    def position(self) -> int:
        return 10 * len(self.applied)


def test_a_stop_during_a_batch_lets_it_finish_and_starts_no_other() -> None:
    box: list[FollowerRunner] = []
    first = _Batches("first", box, stop_during_step=True)
    second = _Batches("second", box, stop_during_step=False)
    runner = FollowerRunner([first, second], PollingWaker())
    box.append(runner)
    runner.start()
    assert runner.thread is not None
    runner.thread.join(5)
    runner.stop()
    assert first.applied == [1], "the batch in flight should commit"
    assert second.applied == [], "no new batch after the stop"
    assert runner.stopped_at == {"first": 10, "second": 0}


def test_followers_run_exits_0_on_sigterm_mid_catch_up_at_a_batch_boundary(
    tmp_path: Path,
) -> None:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    assert run(["demo"], env).returncode == 0
    _prefill(tmp_path)  # ~1,500 more events: catch-up in batches of 5 takes a while
    head = _head(tmp_path)
    with sqlite3.connect(tmp_path / "read_models.db") as conn:
        conn.execute("DELETE FROM rm_positions")  # every read model starts over
    full = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")} | env
    process = subprocess.Popen(
        [sys.executable, "-m", "regenzet.entrypoints", "followers", "run", "--batch", "5"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            _positions(tmp_path / "read_models.db").values()
        ):
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    stopped = _positions(tmp_path / "read_models.db")
    assert any(stopped.values()), "stopped before applying anything"
    assert min(stopped.values()) < head, "caught up before the signal: no mid-catch-up stop"
    # What it reports is what it stored, and every stored position is a batch boundary (a
    # multiple of 5 from an empty start) or the head: no half-applied batch.
    assert "stopped at a batch boundary:" in out
    for name, position in stopped.items():
        if name.startswith("rm_") or name in _read_model_names(tmp_path):
            assert f"{name}={position}" in out
    for name in _read_model_names(tmp_path):
        assert stopped[name] % 5 == 0 or stopped[name] == head, (name, stopped[name])
    # Resuming from there gives exactly what a quiet rebuild gives: nothing lost or doubled.
    assert follow_to_head(full, tmp_path, head) == 0
    followed = _sqlite_checksum(tmp_path)
    assert run(["projections", "rebuild"], env).returncode == 0
    assert _sqlite_checksum(tmp_path) == followed


def _read_model_names(data_dir: Path) -> list[str]:
    from regenzet.application.operations_models import operations_projections
    from regenzet.application.read_models import all_projections

    return [
        p.name
        for p in [*all_projections(lambda *_: None), *operations_projections(lambda *_: None)]
    ]


@pytest.fixture
def health_server() -> Iterator[tuple[str, list[int]]]:
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health", status
    finally:
        server.shutdown()
        server.server_close()


def test_health_checks_the_api_answer(health_server: tuple[str, list[int]]) -> None:
    url, status = health_server
    ok = run(["health", "--url", url], {})
    assert ok.returncode == 0, ok.stderr
    status[0] = 503
    failing = run(["health", "--url", url], {})
    assert failing.returncode == 1
    assert "answered 503" in failing.stderr or "503" in failing.stderr
    refused = run(["health", "--url", "http://127.0.0.1:9/health", "--timeout", "1"], {})
    assert refused.returncode == 1
    assert "unhealthy" in refused.stderr


def test_health_checks_the_heartbeat_age(tmp_path: Path) -> None:
    beat = tmp_path / "followers.heartbeat"
    missing = run(["health", "--heartbeat", str(beat)], {})
    assert missing.returncode == 1
    assert "no heartbeat" in missing.stderr
    beat.touch()
    assert run(["health", "--heartbeat", str(beat)], {}).returncode == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    stale = run(["health", "--heartbeat", str(beat), "--max-age", "90"], {})
    assert stale.returncode == 1
    assert "old" in stale.stderr


def test_health_needs_exactly_one_target() -> None:
    assert run(["health"], {}).returncode == 1
    assert run(["health", "--url", "http://x/", "--heartbeat", "f"], {}).returncode == 1


def test_the_runner_touches_its_heartbeat_and_logs_its_lag(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box: list[FollowerRunner] = []
    follower = _Batches("only", box, stop_during_step=False)
    beat = tmp_path / "hb"
    runner = FollowerRunner([follower], PollingWaker(), heartbeat=beat, lag_report_every=0)
    with caplog.at_level("INFO", logger="regenzet.followers"):
        runner._beat()
    assert beat.exists()
    records = [r for r in caplog.records if getattr(r, "json", {}).get("event") == "followers.lag"]
    assert records
    assert records[0].json["positions"] == {"only": 0}


def test_caught_up_followers_report_no_lag_and_the_mail_dispatcher_is_not_counted(
    tmp_path: Path,
) -> None:
    # The dispatcher sends due emails from the outbox; it reads no log, so a "position" of 0 for
    # it made every report say the followers lagged by the whole log (and the deployed lag alarm
    # would have fired once the log outgrew its threshold).
    from regenzet.entrypoints.bootstrap import Bootstrap
    from regenzet.entrypoints.settings import Settings

    assert run(["demo"], {"REGENZET_DATA_DIR": str(tmp_path)}).returncode == 0
    boot = Bootstrap(Settings(data_dir=tmp_path, database_url=None))
    try:
        runner = boot.runner()
        while sum(follower.step() for follower in runner.followers) > 0:
            pass
        report = runner.lag()
        assert report["head"] > 100
        assert "mail_dispatcher" not in report["positions"]
        assert set(report["positions"].values()) == {report["head"]}
        assert report["lag"] == 0
    finally:
        boot.close()
