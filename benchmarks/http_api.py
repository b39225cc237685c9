"""``http``: repair orders opened per second over HTTP by N concurrent clients against a real
server (uvicorn in a child process on loopback), with p50/p99 latency and errors, without and
with Idempotency-Keys, vs the same use case called from N threads in process on the same store
and pool."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import click
import httpx
from rich.progress import Progress

from benchmarks.common import (
    ADVISOR,
    bench_workshop,
    configured_store,
    console,
    drop_schema,
    emit,
    medians,
    percentiles,
    rounds_option,
    show_table,
    store_kind,
)
from regenzet.application.scenarios import register_customer, register_vehicle
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Role
from regenzet.entrypoints.bootstrap import event_store_env, prepare_store
from regenzet.entrypoints.settings import Settings

Fleet = list[tuple[uuid.UUID, uuid.UUID]]  # one (customer, vehicle) per client
VARIANTS = ("http", "http + keys", "in process")


@click.command(
    "http",
    help="Write requests/s over HTTP with N clients, with and without Idempotency-Keys, vs the "
    "use case in process.",
)
@click.option("--clients", type=click.IntRange(min=1, max=256), default=16, show_default=True)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Repair orders opened per variant per round.",
)
@rounds_option(2)
@click.option(
    "--followers",
    type=click.Choice(["in-process", "separate"]),
    default="in-process",
    show_default=True,
    help="Where the server's followers run: a background thread of the API process (the laptop "
    "default), or `regenzet followers run` in a process of its own with "
    "REGENZET_FOLLOWERS_IN_PROCESS=off for the API (production).",
)
def command(clients: int, count: int, rounds: int, followers: str) -> None:
    """Opens repair orders (two aggregates written per command: the order and the vehicle's
    odometer) through a real server on loopback, once without and once with a fresh
    ``Idempotency-Key`` per request (the key row commits with the events, ADR 0024), and
    through ``Workshop.open_repair_order`` from as many threads in this process: the anchor,
    with the same store and pool. The variants alternate within each round."""
    settings = configured_store()
    store = store_kind(settings)
    with _http_scratch(settings) as server_settings:
        env = event_store_env(server_settings)
        workshop = bench_workshop(env)
        try:
            serials = itertools.count()  # distinct VINs: a repeated one is refused as a duplicate
            fleets = {
                f"{name}-{r}": fleet(workshop, f"{name}-{r}", clients, serials)
                for name in VARIANTS
                for r in range(rounds)
            }
            with _Server(server_settings, followers=followers) as server:
                token = _bench_token(server_settings)
                latencies: dict[str, list[float]] = {name: [] for name in VARIANTS}
                rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
                errors: list[str] = []
                drivers: dict[str, Callable[..., str | None]] = {
                    "http": lambda *a: _http_open(server.base, token, *a),
                    "http + keys": lambda *a: _http_open(server.base, token, *a, keyed=True),
                    "in process": lambda *a: _inprocess_open(workshop, *a),
                }
                with Progress(console=console, transient=True) as progress:
                    task = progress.add_task("http", total=rounds * len(VARIANTS) * count)
                    for r in range(rounds):
                        for name in VARIANTS:
                            rate, lat = _drive(
                                fleets[f"{name}-{r}"],
                                count,
                                drivers[name],
                                progress,
                                task,
                                errors,
                            )
                            rates[name].append(rate)
                            latencies[name] += lat
        finally:
            workshop.close()
    median = medians(rates)
    figures = {k: percentiles(v) for k, v in latencies.items()}
    rows = []
    for name, rate in median.items():
        p50, p99 = figures[name]
        rows.append(
            (
                name,
                f"{rate:,.0f}",
                ", ".join(f"{x:,.0f}" for x in rates[name]),
                f"{p50:.1f}",
                f"{p99:.1f}",
                f"{rate / median['in process']:.2f}",
            )
        )
    show_table(
        f"http on {store}: {clients} clients, {rounds} rounds x {count}, followers {followers}",
        ("variant", "median req/s", "rounds /s", "p50 ms", "p99 ms", "vs in process"),
        [rows],
    )
    if errors:
        console.print(f"{len(errors)} errors; first: {errors[0]}")

    def latency(name: str, prefix: str = "") -> dict[str, float]:
        p50, p99 = figures[name]
        return {f"{prefix}p50_ms": round(p50, 2), f"{prefix}p99_ms": round(p99, 2)}

    emit(
        "http-keys",
        median["http + keys"],
        "requests/s",
        median["http"],
        store=store,
        clients=clients,
        **latency("http + keys"),
    )
    emit(
        "http",
        median["http"],
        "requests/s",
        median["in process"],
        store=store,
        clients=clients,
        **latency("http"),
        errors=len(errors),
        followers=followers,
        **latency("in process", "inprocess_"),
    )


@contextmanager
def _http_scratch(settings: Settings) -> Iterator[Settings]:
    """Settings for a throwaway server: its own data dir (store on SQLite, signing keys always)
    and, on Postgres, its own schema, dropped afterwards."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="bench-http-") as d:
        scratch = attrs.evolve(settings, data_dir=Path(d), rate_limit_per_ip=0)
        if settings.database_url is None:
            yield scratch
            return
        schema = f"bench_http_{uuid.uuid4().hex[:8]}"
        scratch = attrs.evolve(scratch, pg_schema=schema)
        prepare_store(scratch)
        try:
            yield scratch
        finally:
            drop_schema(settings.database_url, schema)


def fleet(workshop: Workshop, label: str, clients: int, serials: Iterator[int]) -> Fleet:
    """One customer and one vehicle per client, registered through the use cases.

    VINs use the European VW layout, which has no check digit, so any six-digit serial is
    valid; the serials come from one counter per run because the store is fresh each run and
    a random serial could repeat (the second registration would fail as a duplicate). The
    plate carries the same serial, since plates are unique too.
    """
    pairs = []
    for i in range(clients):
        serial = next(serials)
        customer = register_customer(
            workshop,
            name=f"Bench {label} {i}",
            email=f"bench{i}@example.com",
            phone=None,
            actor=ADVISOR,
        )
        vehicle = register_vehicle(
            workshop,
            vin=f"WVWZZZE1ZMP{serial:06d}",
            # Plates are unique among live vehicles (ADR 0012): the run's serial keeps them so
            # when several labels share a store.
            plate=f"B-{serial:06d}",
            model="ID.3",
            year=2021,
            battery_kwh=Decimal("58"),
            nominal_voltage_v=Decimal("400"),
            owner_id=customer,
            actor=ADVISOR,
        )
        pairs.append((customer, vehicle))
    return pairs


def _bench_token(settings: Settings) -> str:
    from regenzet.application.identity import Principal
    from regenzet.entrypoints.bootstrap import token_issuer

    principal = Principal(subject="bench-advisor", role=Role.ADVISOR, staff_id=uuid.uuid4())
    return token_issuer(settings).issue(principal, ttl=timedelta(hours=1))


class _Server:
    """``uvicorn`` in a child process on a free loopback port, on the scratch settings; with
    ``followers="separate"`` the API runs none and ``regenzet followers run`` is a second child
    (as in production, item 8 of issue 12)."""

    def __init__(self, settings: Settings, *, followers: str = "in-process") -> None:
        self.settings = settings
        self.followers = followers
        self.base = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.follower_process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Server:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
        env.update(
            REGENZET_DATA_DIR=str(self.settings.data_dir),
            REGENZET_RATE_LIMIT_PER_IP="0",
            REGENZET_RATE_LIMIT_PER_SUBJECT="0",
            REGENZET_DB_POOL_SIZE=str(self.settings.db_pool_size),
        )
        if self.settings.database_url is not None:
            env["REGENZET_DATABASE_URL"] = self.settings.database_url
            env["REGENZET_PG_SCHEMA"] = self.settings.pg_schema
        self.log = tempfile.TemporaryFile()
        if self.followers == "separate":
            env["REGENZET_FOLLOWERS_IN_PROCESS"] = "off"
            self.follower_process = subprocess.Popen(
                [sys.executable, "-m", "regenzet.entrypoints", "followers", "run"],
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and module
            [
                sys.executable, "-m", "uvicorn", "--factory",
                "regenzet.entrypoints.asgi:app_from_env",
                "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-access-log",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready(self.process, timeout=120)
        except BaseException:
            # ``with`` does not call __exit__ when __enter__ raises (Ctrl-C included): stop the
            # child here so it cannot outlive us holding connections to the scratch schema.
            self.__exit__()
            raise
        return self

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        """Polls ``GET /ready``; a child that exits first fails with the last line it logged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.log.seek(0)
                last = (self.log.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
                raise click.ClickException(f"the API server did not start: {last}")
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise click.ClickException(f"the API server did not become ready within {timeout:.0f} s")

    def __exit__(self, *_: object) -> None:
        for process in (self.process, self.follower_process):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.log.close()


def _http_open(
    base: str,
    token: str,
    client: Any,
    customer: uuid.UUID,
    vehicle: uuid.UUID,
    km: int,
    *,
    keyed: bool = False,
) -> str | None:
    headers = {"Authorization": f"Bearer {token}"}
    if keyed:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    response = client.post(
        f"{base}/api/v1/repair-orders",
        json={
            "vehicle_id": str(vehicle),
            "customer_id": str(customer),
            "concerns": ["bench"],
            "odometer_in_km": km,
        },
        headers=headers,
    )
    if response.status_code != 201:
        return f"{response.status_code} {response.text[:200]}"
    return None


def open_order(workshop: Workshop, customer: uuid.UUID, vehicle: uuid.UUID, km: int) -> Any:
    """The use case both the in-process anchor and the projections' live phase call."""
    return workshop.open_repair_order(
        vehicle_id=vehicle,
        customer_id=customer,
        concerns=["bench"],
        odometer_in_km=km,
        soc_in_pct=None,
        promised_at=None,
        actor=ADVISOR,
    )


def _inprocess_open(
    workshop: Workshop, _client: Any, customer: uuid.UUID, vehicle: uuid.UUID, km: int
) -> str | None:
    open_order(workshop, customer, vehicle, km)
    return None


def _drive(
    pairs: Fleet,
    count: int,
    open_one: Callable[..., str | None],
    progress: Progress,
    task: Any,
    errors: list[str],
) -> tuple[float, list[float]]:
    """Each client opens its share of ``count`` orders on its own vehicle, back to back."""
    shares = [count // len(pairs) + (1 if i < count % len(pairs) else 0) for i in range(len(pairs))]
    latencies: list[list[float]] = [[] for _ in pairs]
    lock = threading.Lock()
    start = threading.Barrier(len(pairs) + 1)

    def client(i: int) -> None:
        customer, vehicle = pairs[i]
        with httpx.Client(timeout=30) as session:
            start.wait()
            for n in range(shares[i]):
                began = time.perf_counter()
                try:
                    error = open_one(session, customer, vehicle, 100 + n)
                except Exception as exc:  # a failed request is an error, not a crash
                    error = f"{type(exc).__name__}: {exc}"
                latencies[i].append(time.perf_counter() - began)
                if error:
                    with lock:
                        errors.append(error)
                if n % 20 == 19:
                    progress.advance(task, 20)
            progress.advance(task, shares[i] % 20)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return count / elapsed, [x for per in latencies for x in per]
