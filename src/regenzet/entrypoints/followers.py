"""Running the followers: in a background thread of ``regenzet serve`` or as their own process
(``regenzet followers run``), woken by Postgres NOTIFY or by polling, restarted after failures.

A follower that fails (lost connection, a database restart) is retried with backoff and
resumes from its stored position; nothing is applied twice because the position moves in the
same transaction as the read-model rows.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from regenzet.application.audit import ChainFollower
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.projections import ReadModelStore

logger = logging.getLogger("regenzet.followers")

MAX_BACKOFF_SECONDS = 10.0
# How long stop() waits for the batch in flight to commit. Below ECS's stopTimeout (30 s by
# default), so a task stopped on SIGTERM ends at a batch boundary, not with SIGKILL.
STOP_TIMEOUT_SECONDS = 25.0
# Liveness for container health checks: the loop touches its heartbeat file this often.
HEARTBEAT_SECONDS = 1.0
# A JSON log line with the lag behind the head of the log this often (a CloudWatch metric
# filter turns it into the follower-lag / relay-backlog metric).
LAG_REPORT_SECONDS = 60.0


class Waker(Protocol):
    """Waits for "the log may have grown" (a NOTIFY on Postgres, a short sleep otherwise;
    the backend builds it)."""

    def wait(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class FollowerRunner:
    """Keeps every follower caught up until stopped (supervised, in one thread)."""

    read_models: ReadModelStore | None = None
    chain: ChainFollower | None = None
    closables: list[Any]
    # Each follower's position once stopped (empty until then).
    stopped_at: dict[str, int]

    def __init__(
        self,
        followers: Sequence[Any],
        waker: Waker,
        *,
        on_error: Callable[[Exception], None] | None = None,
        heartbeat: Path | None = None,
        lag_report_every: float = LAG_REPORT_SECONDS,
    ) -> None:
        self.followers = list(followers)
        self.heartbeat = heartbeat
        self.lag_report_every = lag_report_every
        self._last_beat = 0.0
        self._last_report = 0.0
        self.closables = []
        self.stopped_at = {}
        self.waker = waker
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self._on_error = on_error

    def start(self) -> None:
        for follower in self.followers:
            follower.check_schema()
        self.thread = threading.Thread(target=self.run, name="regenzet-followers", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stops at a batch boundary: the batch being applied commits (with its position),
        no further batch starts; then closes what the runner opened."""
        self.stop_event.set()
        try:
            if self.thread is not None:
                self.thread.join(timeout)
                if self.thread.is_alive():
                    logger.warning("followers still busy after %.0f s; stopping anyway", timeout)
                else:
                    self.stopped_at = self._positions()
        finally:  # whatever reading the positions raised, close everything
            self.waker.close()
            closables, self.closables = self.closables, []
            for closable in closables:
                try:
                    closable.close()
                except Exception:  # shutting down: report, close the rest
                    logger.exception("closing %r failed", closable)

    def _positions(self) -> dict[str, int]:
        positions: dict[str, int] = {}
        for follower in self.followers:
            position = getattr(follower, "position", None)
            if not callable(position):
                continue  # the dispatcher sends due emails; it has no log position
            # The database went away: the stored positions are still consistent, just unread.
            with contextlib.suppress(StoreUnavailableError):
                positions[follower.name] = int(position())
        return positions

    def lag(self) -> dict[str, Any]:
        """The head of the log, each follower's position and the largest gap."""
        readers = [f.reader for f in self.followers if hasattr(f, "reader")]
        head = max((int(r.max_notification_id()) for r in readers[:1]), default=0)
        positions = self._positions()
        return {
            "head": head,
            "lag": max((head - p for p in positions.values()), default=0),
            "positions": positions,
        }

    def _beat(self) -> None:
        now = time.monotonic()
        if self.heartbeat is not None and now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            try:
                self.heartbeat.touch()
            except OSError as exc:  # a full or read-only disk must not stop the followers
                logger.warning("cannot touch heartbeat %s: %s", self.heartbeat, exc)
        if now - self._last_report >= self.lag_report_every:
            self._last_report = now
            try:
                report = self.lag()
            except StoreUnavailableError as exc:
                logger.warning("cannot measure the followers' lag: %s", exc)
                return
            logger.info(
                "followers lag %s behind head %s",
                report["lag"],
                report["head"],
                extra={"json": {"event": "followers.lag", **report}},
            )

    def run(self) -> None:
        # Each follower is supervised on its own: one that fails (a bug in one projection, a
        # lost connection) backs off alone, and the others keep following.
        backoff = {id(f): 0.0 for f in self.followers}
        not_before = {id(f): 0.0 for f in self.followers}
        while not self.stop_event.is_set():
            self._beat()
            applied = 0
            for follower in self.followers:
                if self.stop_event.is_set():
                    break  # between batches: every applied batch has committed its position
                key = id(follower)
                if time.monotonic() < not_before[key]:
                    continue
                try:
                    applied += follower.step()
                    backoff[key] = 0.0
                except Exception as exc:  # supervise: log, back off, resume from the position
                    backoff[key] = min(max(backoff[key] * 2, 0.1), MAX_BACKOFF_SECONDS)
                    not_before[key] = time.monotonic() + backoff[key]
                    if isinstance(exc, StoreUnavailableError):
                        logger.warning(
                            "follower %s failed, retrying in %.1f s: %s",
                            follower.name,
                            backoff[key],
                            exc,
                        )
                        self.waker.close()
                    else:
                        logger.exception(
                            "follower %s failed, retrying in %.1f s", follower.name, backoff[key]
                        )
                    if self._on_error:
                        self._on_error(exc)
            if not applied:
                # A failing follower's retry waits for its own backoff (checked above), at most
                # one wake-up interval late.
                self.waker.wait(self.stop_event)


def stop_on_sigterm() -> threading.Event:
    """An event set by SIGTERM (how ECS stops a task). Install it first thing, so a SIGTERM
    while starting up is a clean stop too."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def run_until_stopped(runner: FollowerRunner, stop: threading.Event, banner: str) -> None:
    """Runs the followers until ``stop`` (SIGTERM) or Ctrl-C, then stops them at a batch
    boundary and prints where each one stopped."""
    import click

    try:
        if stop.is_set():
            return
        runner.start()
        click.echo(banner)
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                pass
    finally:
        runner.stop()
    positions = ", ".join(f"{name}={at}" for name, at in runner.stopped_at.items())
    click.echo(f"stopped at a batch boundary: {positions}")


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
