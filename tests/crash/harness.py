"""Shared pieces of the crash suite: a real ``regenzet serve`` process on loopback that can be
SIGKILLed and restarted, idempotent writers that retry until acknowledged, and the checks on
the store afterwards (issue 17's criteria)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import attrs
import httpx
import psycopg
from psycopg import sql

from regenzet.application.identity import Principal
from regenzet.domain.common import Role
from regenzet.entrypoints.bootstrap import token_issuer
from regenzet.entrypoints.settings import Settings

CUSTOMERS = "/api/v1/customers"


class ApiProcess:
    """``regenzet serve`` in a child process (its output goes to a log file)."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_times: list[float] = []

    def start(self, *, timeout: float = 180) -> float:
        """Starts the server and returns the seconds until ``/ready`` said 200."""
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "regenzet.entrypoints", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    took = time.monotonic() - started
                    self.ready_times.append(took)
                    return took
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the API was not ready within {timeout} s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(dsn: str, schema: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    env.update(
        REGENZET_DATA_DIR=str(data_dir),
        REGENZET_DATABASE_URL=dsn,
        REGENZET_PG_SCHEMA=schema,
        REGENZET_RATE_LIMIT_PER_IP="0",
        REGENZET_RATE_LIMIT_PER_SUBJECT="0",
        **extra,
    )
    return env


def advisor_token(env: dict[str, str], subject: str) -> str:
    settings = Settings.from_env(env)
    principal = Principal(subject=subject, role=Role.ADVISOR, staff_id=uuid4())
    return token_issuer(settings).issue(principal)


@attrs.define
class Tally:
    """What the writers saw (shared by their threads)."""

    acknowledged: dict[str, str] = attrs.field(factory=dict)  # key -> customer id
    bodies: dict[str, set[bytes]] = attrs.field(factory=lambda: defaultdict(set))
    attempts: Counter[str] = attrs.field(factory=Counter)
    statuses: Counter[int] = attrs.field(factory=Counter)
    transport_errors: int = 0
    replays: int = 0
    updates: dict[str, int] = attrs.field(factory=Counter)  # customer id -> acknowledged
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def retries(self) -> int:
        return sum(n - 1 for n in self.attempts.values())

    def bad_5xx(self) -> dict[int, int]:
        return {s: n for s, n in self.statuses.items() if s >= 500 and s != 503}


def send_until_acknowledged(
    client: httpx.Client,
    tally: Tally,
    method: str,
    path: str,
    body: dict[str, Any],
    key: str,
    token: str,
    *,
    deadline: float,
) -> httpx.Response:
    """Sends one keyed write again and again (as a careful client does) until it is 2xx."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} was never acknowledged")
        with tally.lock:
            tally.attempts[key] += 1
        try:
            response = client.request(method, path, json=body, headers=headers, timeout=15)
        except httpx.TransportError:
            with tally.lock:
                tally.transport_errors += 1
            time.sleep(0.05)
            continue
        with tally.lock:
            tally.statuses[response.status_code] += 1
        if 200 <= response.status_code < 300:
            with tally.lock:
                tally.bodies[key].add(response.content)
                if response.headers.get("idempotent-replayed") == "true":
                    tally.replays += 1
            return response
        if response.status_code != 503 and response.status_code < 500:
            raise AssertionError(f"{key}: {response.status_code} {response.text}")
        time.sleep(0.05)


def writer(
    base: str,
    tally: Tally,
    name: str,
    token: str,
    stop: threading.Event,
    *,
    deadline: float,
    errors: list[BaseException],
) -> None:
    """Registers customers and changes each one's contact twice, every write keyed."""
    try:
        with httpx.Client(base_url=base) as client:
            i = 0
            while not stop.is_set():
                key = f"{name}-{i}"
                email = f"{key}@crash.example"
                created = send_until_acknowledged(
                    client,
                    tally,
                    "POST",
                    CUSTOMERS,
                    {"name": f"Crash {key}", "email": email},
                    key,
                    token,
                    deadline=deadline,
                )
                customer = created.json()["id"]
                with tally.lock:
                    tally.acknowledged[key] = customer
                for n in range(2):
                    update = f"{key}-contact-{n}"
                    send_until_acknowledged(
                        client,
                        tally,
                        "POST",
                        f"{CUSTOMERS}/{customer}/contact",
                        {"email": f"{key}-{n}@crash.example"},
                        update,
                        token,
                        deadline=deadline,
                    )
                    with tally.lock:
                        tally.acknowledged[update] = customer
                        tally.updates[customer] += 1
                i += 1
    except BaseException as exc:
        errors.append(exc)


@contextmanager
def writers(api: ApiProcess, env: dict[str, str], count: int, *, seconds: float) -> Iterator[Tally]:
    """``count`` writer threads against ``api`` (each with its own token) for the block; on
    leaving, they finish the write in hand (retrying until acknowledged) and stop."""
    tally = Tally()
    stop = threading.Event()
    errors: list[BaseException] = []
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=writer,
            args=(api.base, tally, f"w{n}", advisor_token(env, f"writer-{n}"), stop),
            kwargs={"deadline": deadline, "errors": errors},
        )
        for n in range(count)
    ]
    for t in threads:
        t.start()
    try:
        yield tally
        time.sleep(1.0)  # writes in flight after the last crash get acknowledged
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=180)
        api.stop()
    assert not errors, errors


def events_by_aggregate(dsn: str, schema: str) -> dict[str, list[tuple[int, str]]]:
    """(version, topic) of every stored event, per aggregate, in version order."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT originator_id, originator_version, topic FROM {}"
                " ORDER BY originator_id, originator_version"
            ).format(sql.Identifier(schema, "regenzet_events"))
        ).fetchall()
    for originator, version, topic in rows:
        found[str(originator)].append((version, topic))
    return found


def registered_emails(dsn: str, schema: str) -> Counter[str]:
    """How many Registered events carry each email (a key applied twice shows up as 2)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE topic LIKE %s").format(
                sql.Identifier(schema, "regenzet_events")
            ),
            ("%Customer.Registered",),
        ).fetchall()
    return Counter(json.loads(bytes(state))["email"] for (state,) in rows)


def check_criteria(dsn: str, schema: str, tally: Tally) -> None:
    """Issue 17: nothing acknowledged lost, no key applied twice, replays identical, versions
    gap-free, no 5xx but 503."""
    assert not tally.bad_5xx(), tally.statuses
    for key, bodies in tally.bodies.items():
        assert len(bodies) == 1, f"{key} got different responses: {bodies}"
    emails = registered_emails(dsn, schema)
    twice = {e: n for e, n in emails.items() if n > 1}
    assert not twice, f"keys applied twice: {twice}"
    events = events_by_aggregate(dsn, schema)
    creates = {k: v for k, v in tally.acknowledged.items() if "-contact-" not in k}
    for key, customer in creates.items():
        assert emails[f"{key}@crash.example"] == 1, f"acknowledged {key} lost"
        versions = [v for v, _ in events[customer]]
        assert versions == list(range(1, len(versions) + 1)), f"{customer} has gaps: {versions}"
        # Every change was retried until acknowledged, so each is there exactly once.
        assert len(versions) - 1 == tally.updates[customer], (customer, versions)
    UUID(next(iter(creates.values())))  # at least one write was acknowledged
