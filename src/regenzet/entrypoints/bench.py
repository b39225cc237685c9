"""``regenzet bench``: throughput of the event store paths, each beside its anchor in one run.

* ``append``: commands/s through the use-case layer (``register_customer``) vs the bare
  eventsourcing library saving a same-sized aggregate vs the raw driver doing the library's
  insert recipe (Postgres: lock table + NOTIFY + INSERT per transaction; SQLite: INSERT per
  transaction). Rounds are interleaved so drift hits every variant alike; medians are reported.
* ``replay``: decoded events/s reading the whole log in batches (the product's bulk reader and
  decoder, as followers use them) vs a raw keyset SELECT of the same rows in the driver's
  default (text) mode, without decoding.

* ``http``: repair orders opened per second over HTTP by N concurrent clients against a real
  server (uvicorn in a child process on loopback), with p50/p99 latency and errors, vs the same
  use case called from N threads in process on the same store and pool.
* ``projections``: log events/s the followers of every read model catch up with, in batches,
  vs the same followers at one transaction per event (on a prefix of the same log); then the
  workshop board's lag p50/p99 behind a steady stream of writes with the followers live.

Benchmarks write to throwaway storage (a temporary schema on Postgres, temporary files beside
the SQLite store), never to the product's data. The last line printed is one JSON object.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import click
import httpx
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from regenzet.application.ports import EventLogReader
from regenzet.application.projections import DEFAULT_BATCH, Follower, ReadModelStore
from regenzet.application.read_models import WorkshopBoard
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PaymentMethod,
    RepairOrder,
)
from regenzet.entrypoints.console import HelpGroup
from regenzet.entrypoints.container import (
    ManualClock,
    event_log_reader,
    event_store_env,
    prepare_store,
    workshop_for,
)
from regenzet.entrypoints.followers import FollowerRunner, Waker, build_followers, wait_until
from regenzet.entrypoints.settings import Settings

console = Console(stderr=True)
ADVISOR = Actor("bench-advisor", Role.ADVISOR)


class BareCustomer(Aggregate):
    """The anchor: an aggregate of the same shape saved by the bare library."""

    @event("Registered")
    def __init__(
        self, name: str, email: str, phone: str, preferences: dict[str, Any], actor: dict[str, str]
    ) -> None:
        self.name = name
        self.email = email
        self.phone = phone
        self.preferences = preferences
        self.actor = actor


BARE_PREFERENCES = {
    "email": True,
    "sms": False,
    "quiet_hours_start": None,
    "quiet_hours_end": None,
    "timezone": "Europe/Amsterdam",
}


class BareApplication(Application[uuid.UUID]):
    name = "BareBench"


def _result_line(bench: str, value: float, unit: str, anchor: float, **extra: Any) -> str:
    record = {
        "bench": bench,
        "value": round(value, 1),
        "unit": unit,
        "anchor": round(anchor, 1),
        "ratio": round(value / anchor, 3) if anchor else None,
    }
    record.update(extra)
    return json.dumps(record)


@contextmanager
def _scratch(settings: Settings, label: str) -> Iterator[tuple[dict[str, str], Callable[[], Any]]]:
    """Throwaway storage: yields (eventsourcing env, raw connection factory)."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=f"bench-{label}-") as d:
            path = Path(d) / "bench.db"
            env = {**event_store_env(settings), "SQLITE_DBNAME": str(path)}
            yield env, lambda: sqlite3.connect(path, isolation_level=None)
        return
    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    url = settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        env = {**event_store_env(settings), "POSTGRES_SCHEMA": schema}

        def connect() -> psycopg.Connection[Any]:
            conn = psycopg.connect(url, autocommit=True)
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            return conn

        yield env, connect
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))


def _workshop(env: dict[str, str]) -> Workshop:
    return workshop_for(env, _clock())


@click.group(cls=HelpGroup, help="Benchmarks on the configured store; the last line is JSON.")
def bench() -> None:
    pass


# ---------------------------------------------------------------------------------------------
# append
# ---------------------------------------------------------------------------------------------


@bench.command(help="Commands/s: use-case layer vs bare library vs raw driver.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Commands per variant per round.",
)
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True)
def append(count: int, rounds: int) -> None:
    settings = Settings.from_env()
    prepare_store(settings)
    store = "postgres" if settings.uses_postgres else "sqlite"
    rates: dict[str, list[float]] = {"use case": [], "bare library": [], "raw driver": []}
    with (
        _scratch(settings, "uc") as (uc_env, _),
        _scratch(settings, "bare") as (bare_env, _),
        _scratch(settings, "raw") as (_, raw_connect),
    ):
        workshop = _workshop(uc_env)
        bare = BareApplication(env=bare_env)
        raw = _RawAppender(raw_connect, postgres=settings.uses_postgres)
        sample = _sample_state(workshop)
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("append", total=rounds * 3 * count)
                for r in range(rounds):

                    def use_case(i: int, r: int = r) -> None:
                        workshop.register_customer(
                            name=f"Customer {r}-{i}",
                            email=f"c{r}-{i}@example.com",
                            phone="+31612345678",
                            actor=ADVISOR,
                        )

                    def bare_library(i: int, r: int = r) -> None:
                        bare.save(
                            BareCustomer(
                                name=f"Customer {r}-{i}",
                                email=f"c{r}-{i}@example.com",
                                phone="+31612345678",
                                preferences=BARE_PREFERENCES,
                                actor={"subject_id": "bench-advisor", "role": "advisor"},
                            )
                        )

                    def raw_driver(i: int) -> None:
                        raw.append(sample)

                    for name, op in (
                        ("use case", use_case),
                        ("bare library", bare_library),
                        ("raw driver", raw_driver),
                    ):
                        rates[name].append(_timed(count, op, progress, task))
        finally:
            workshop.close()
            bare.close()
            raw.close()
    medians = {k: statistics.median(v) for k, v in rates.items()}
    table = Table(title=f"append on {store} ({rounds} rounds x {count})")
    for col in ("variant", "median /s", "rounds /s", "vs bare library"):
        table.add_column(col)
    for name, rate in medians.items():
        table.add_row(
            name,
            f"{rate:,.0f}",
            ", ".join(f"{x:,.0f}" for x in rates[name]),
            f"{rate / medians['bare library']:.2f}",
        )
    Console().print(table)
    click.echo(
        _result_line(
            "append",
            medians["use case"],
            "commands/s",
            medians["bare library"],
            store=store,
            raw=round(medians["raw driver"], 1),
            ratio_raw=round(medians["use case"] / medians["raw driver"], 3),
        )
    )


def _timed(count: int, op: Callable[[int], Any], progress: Progress, task: Any) -> float:
    started = time.perf_counter()
    for i in range(count):
        op(i)
        if i % 50 == 49:
            progress.advance(task, 50)
    progress.advance(task, count % 50)
    return count / (time.perf_counter() - started)


def _sample_state(workshop: Workshop) -> tuple[str, bytes]:
    receipt = workshop.register_customer(
        name="Sample Customer", email="sample@example.com", phone="+31612345678", actor=ADVISOR
    )
    [stored] = workshop.recorder.select_events(receipt.id)
    return stored.topic, stored.state


class _RawAppender:
    """The library's insert recipe by hand: one event per transaction."""

    def __init__(self, connect: Callable[[], Any], *, postgres: bool) -> None:
        self.postgres = postgres
        self.conn = connect()
        if postgres:
            self.conn.execute(
                "CREATE TABLE raw_events (originator_id uuid NOT NULL, originator_version bigint "
                "NOT NULL, topic text, state bytea, notification_id bigserial, "
                "PRIMARY KEY (originator_id, originator_version))"
            )
            self.conn.execute("CREATE UNIQUE INDEX ON raw_events (notification_id)")
        else:
            self.conn.execute("PRAGMA journal_mode=WAL")  # as the library's SQLite datastore
            self.conn.execute(
                "CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, "
                "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
            )

    def append(self, sample: tuple[str, bytes]) -> None:
        topic, state = sample
        if self.postgres:
            with self.conn.transaction():
                self.conn.execute("LOCK TABLE raw_events IN EXCLUSIVE MODE")
                self.conn.execute("NOTIFY raw_events")
                self.conn.execute(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, 1, %s, %s) RETURNING notification_id",
                    (uuid.uuid4(), topic, state),
                ).fetchone()
        else:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                "VALUES (?, 1, ?, ?)",
                (uuid.uuid4().hex, topic, state),
            )
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# replay
# ---------------------------------------------------------------------------------------------


@bench.command(help="Decoded events/s reading the whole log in batches vs raw keyset SELECT.")
@click.option(
    "--events",
    "target",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Approximate number of events to pre-fill.",
)
@click.option("--batch", type=click.IntRange(min=1, max=100_000), default=1000, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True)
def replay(target: int, batch: int, rounds: int) -> None:
    settings = Settings.from_env()
    prepare_store(settings)
    store = "postgres" if settings.uses_postgres else "sqlite"
    with _scratch(settings, "replay") as (env, raw_connect):
        workshop = _workshop(env)
        try:
            total = _prefill(workshop, target)
            table_name = "stored_events" if not settings.uses_postgres else "regenzet_events"
            conn = raw_connect()
            reader = event_log_reader(env, workshop)
            decoded_rates, raw_rates = [], []
            try:
                for _ in range(rounds):
                    decoded_rates.append(_read_decoded(workshop, reader, batch, total))
                    raw_rates.append(
                        _read_raw(conn, table_name, batch, total, postgres=settings.uses_postgres)
                    )
            finally:
                conn.close()
                reader.close()
        finally:
            workshop.close()
    decoded, raw = statistics.median(decoded_rates), statistics.median(raw_rates)
    table = Table(title=f"replay on {store}: {total:,} events, batches of {batch}")
    for col in ("variant", "median /s", "rounds /s", "vs raw SELECT"):
        table.add_column(col)
    table.add_row(
        "decoded events",
        f"{decoded:,.0f}",
        ", ".join(f"{x:,.0f}" for x in decoded_rates),
        f"{decoded / raw:.2f}",
    )
    table.add_row(
        "raw keyset SELECT", f"{raw:,.0f}", ", ".join(f"{x:,.0f}" for x in raw_rates), "1.00"
    )
    Console().print(table)
    click.echo(_result_line("replay", decoded, "events/s", raw, store=store, events=total))


def _prefill(workshop: Workshop, target: int) -> int:
    """Realistic log: full repair-order lifecycles (about 20 events each), saved per order."""
    clock = workshop.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the pre-fill needs the benchmark's manual clock")
    written = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("pre-filling the log", total=target)
        while written < target:
            order = _lifecycle(clock)
            recordings = workshop.save(order)
            written += len(recordings)
            progress.update(task, completed=written)
    return written


def _lifecycle(clock: ManualClock) -> RepairOrder:
    tech = uuid.uuid4()
    tech_actor = Actor(str(tech), Role.TECHNICIAN)
    o = RepairOrder.open(
        vehicle_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        concerns=["Coolant warning", "Noise from rear axle"],
        odometer_in_km=48_000,
        soc_in_pct=Decimal("70"),
        promised_at=clock.now() + timedelta(days=1),
        currency="EUR",
        actor=ADVISOR,
    )
    o.add_job(
        job_id="hv",
        title="Replace HV coolant pump",
        labour=[LabourLine("Pump", Decimal("2.5"), Decimal("95"))],
        parts=[PartLine("P-1", "Coolant pump", Decimal("1"), Decimal("389.00"))],
        hv_work=True,
        required_hv_level=3,
        actor=ADVISOR,
    )
    o.add_job(
        job_id="filter",
        title="Cabin filter",
        labour=[LabourLine("Filter", Decimal("0.3"), Decimal("85"))],
        parts=[PartLine("F-1", "Filter", Decimal("1"), Decimal("59.90"))],
        hv_work=False,
        required_hv_level=None,
        actor=ADVISOR,
    )
    o.send_quote(actor=ADVISOR)
    customer = Actor(str(o.customer_id), Role.CUSTOMER)
    now = clock.advance(timedelta(minutes=5))
    for job in ("hv", "filter"):
        o.approve_job(
            job_id=job,
            channel=ApprovalChannel.PORTAL,
            client_ip="203.0.113.9",
            at=now,
            actor=customer,
        )
    o.assign_technician(job_id="hv", staff_id=tech, hv_level=3, actor=ADVISOR)
    o.isolate_hv(
        technician_id=tech,
        technician_hv_level=3,
        residual_voltage_v=Decimal("2"),
        lock_tag_id="LOTO-1",
        ppe_checked=True,
        at=now,
        actor=tech_actor,
    )
    for job in ("hv", "filter"):
        o.clock_on(job_id=job, technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor)
        now = clock.advance(timedelta(minutes=75))
        o.clock_off(job_id=job, technician_id=tech, at=now, actor=tech_actor)
        o.complete_job(job_id=job, actor=tech_actor)
    o.restore_hv(technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor)
    o.pass_quality_check(notes=None, actor=ADVISOR)
    o.invoice(invoice_number=f"INV-{o.id.hex[:8]}", tax_rate=Decimal("0.21"), at=now, actor=ADVISOR)
    o.record_payment(
        amount=o.total, method=PaymentMethod.CARD, reference="PIN", at=now, actor=ADVISOR
    )
    o.release(odometer_out_km=48_010, soc_out_pct=Decimal("68"), at=now, actor=ADVISOR)
    return o


def _read_decoded(workshop: Workshop, reader: EventLogReader, batch: int, total: int) -> float:
    """The product's bulk path: the log reader plus the workshop's decoder."""
    started = time.perf_counter()
    count, last = 0, 0
    while True:
        rows = reader.read(last, batch)
        if not rows:
            break
        workshop.decode_rows(rows)
        count += len(rows)
        last = rows[-1][0]
    elapsed = time.perf_counter() - started
    if count != total:
        raise click.ClickException(f"read {count} events, expected {total}")
    return count / elapsed


def _read_raw(
    conn: Any, table: str, batch: int, total: int, *, postgres: bool, binary: bool = False
) -> float:
    if postgres:
        query = (
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM "
            f"{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        )
    else:
        query = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
            f"WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
    started = time.perf_counter()
    count, last = 0, 0
    while True:
        if binary:
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(query, (last, batch), prepare=True).fetchall()
        else:
            rows = conn.execute(query, (last, batch)).fetchall()
        if not rows:
            break
        count += len(rows)
        last = rows[-1][0]
    elapsed = time.perf_counter() - started
    if count != total:
        raise click.ClickException(f"raw read {count} rows, expected {total}")
    return count / elapsed


@bench.command(help="Hash-chain verification events/s vs a raw keyset SELECT of the same rows.")
@click.option(
    "--events",
    "target",
    type=click.IntRange(min=1_000),
    default=100_000,
    show_default=True,
    help="Events to pre-fill (full repair-order lifecycles).",
)
@click.option(
    "--batch", type=click.IntRange(min=100, max=100_000), default=10_000, show_default=True
)
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True)
def verify(target: int, batch: int, rounds: int) -> None:
    from regenzet.application.audit import ChainFollower, Verifier
    from regenzet.entrypoints.audit_verify import default_workers, verify_log
    from regenzet.entrypoints.container import chain_store, throwaway_audit_signer

    settings = Settings.from_env()
    prepare_store(settings)
    store_kind = "postgres" if settings.uses_postgres else "sqlite"
    signer = throwaway_audit_signer()
    with _scratch(settings, "verify") as (env, raw_connect):
        workshop = _workshop(env)
        chain = chain_store(env)
        reader = event_log_reader(env, workshop)
        conn = raw_connect()
        try:
            total = _prefill(workshop, target)
            follower = ChainFollower(chain, reader, signer, _clock(), checkpoint_every=10_000)
            started = time.perf_counter()
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("linking the chain", total=total)
                follower.catch_up(lambda n: progress.advance(task, n))
            link_rate = total / (time.perf_counter() - started)
            table_name = "regenzet_events" if settings.uses_postgres else "stored_events"
            verifier = Verifier(reader, chain, signer, batch=batch)
            verify_rates: list[float] = []
            single_rates: list[float] = []
            raw_rates: list[float] = []
            for _ in range(rounds):  # interleaved, so drift hits all alike
                for rates, workers in ((verify_rates, default_workers()), (single_rates, 1)):
                    started = time.perf_counter()
                    report = verify_log(verifier, env, workers=workers)
                    elapsed = time.perf_counter() - started
                    if not report.intact or report.events_verified != total:
                        raise click.ClickException(f"verification failed: {report.summary()}")
                    rates.append(total / elapsed)
                raw_rates.append(
                    _read_raw(
                        conn,
                        table_name,
                        batch,
                        total,
                        postgres=settings.uses_postgres,
                        binary=settings.uses_postgres,
                    )
                )
        finally:
            conn.close()
            reader.close()
            chain.close()
            workshop.close()
    rate, raw = statistics.median(verify_rates), statistics.median(raw_rates)
    single = statistics.median(single_rates)
    table = Table(title=f"verify on {store_kind}: {total:,} events, batches of {batch}")
    for col in ("variant", "median /s", "rounds /s", "vs raw SELECT"):
        table.add_column(col)
    table.add_row(
        f"regenzet audit verify ({default_workers()} processes)",
        f"{rate:,.0f}",
        ", ".join(f"{x:,.0f}" for x in verify_rates),
        f"{rate / raw:.2f}",
    )
    table.add_row(
        "verify in one process",
        f"{single:,.0f}",
        ", ".join(f"{x:,.0f}" for x in single_rates),
        f"{single / raw:.2f}",
    )
    table.add_row(
        "raw keyset SELECT", f"{raw:,.0f}", ", ".join(f"{x:,.0f}" for x in raw_rates), "1.00"
    )
    table.add_row(
        "linking (follower catch-up)", f"{link_rate:,.0f}", "1 run", f"{link_rate / raw:.2f}"
    )
    Console().print(table)
    click.echo(
        _result_line(
            "verify",
            rate,
            "events/s",
            raw,
            store=store_kind,
            events=total,
            workers=default_workers(),
            one_process=round(single),
            one_process_ratio=round(single / raw, 3),
            link_rate=round(link_rate),
        )
    )


# ---------------------------------------------------------------------------------------------
# http
# ---------------------------------------------------------------------------------------------


@bench.command(
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
@click.option("--rounds", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--followers",
    type=click.Choice(["in-process", "separate"]),
    default="in-process",
    show_default=True,
    help="Where the server's followers run: a background thread of the API process (the laptop "
    "default), or `regenzet followers run` in a process of its own with "
    "REGENZET_FOLLOWERS_IN_PROCESS=off for the API (production).",
)
def http(clients: int, count: int, rounds: int, followers: str) -> None:
    """Opens repair orders (two aggregates written per command: the order and the vehicle's
    odometer) through a real server on loopback, once without and once with a fresh
    ``Idempotency-Key`` per request (the key row commits with the events, ADR 0024), and
    through ``Workshop.open_repair_order`` from as many threads in this process: the anchor,
    with the same store and pool. The variants alternate within each round."""
    settings = Settings.from_env()
    prepare_store(settings)
    store = "postgres" if settings.uses_postgres else "sqlite"
    with _http_scratch(settings) as server_settings:
        env = event_store_env(server_settings)
        workshop = _workshop(env)
        try:
            serials = itertools.count()  # distinct VINs: a repeated one is refused as a duplicate
            fleets = {
                f"{name}-{r}": _fleet(workshop, f"{name}-{r}", clients, serials)
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
    medians = {k: statistics.median(v) for k, v in rates.items()}
    percentiles = {k: _percentiles(v) for k, v in latencies.items()}
    table = Table(
        title=f"http on {store}: {clients} clients, {rounds} rounds x {count},"
        f" followers {followers}"
    )
    for col in ("variant", "median req/s", "rounds /s", "p50 ms", "p99 ms", "vs in process"):
        table.add_column(col)
    for name, rate in medians.items():
        p50, p99 = percentiles[name]
        table.add_row(
            name,
            f"{rate:,.0f}",
            ", ".join(f"{x:,.0f}" for x in rates[name]),
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{rate / medians['in process']:.2f}",
        )
    Console().print(table)
    if errors:
        console.print(f"{len(errors)} errors; first: {errors[0]}")
    click.echo(
        _result_line(
            "http-keys",
            medians["http + keys"],
            "requests/s",
            medians["http"],
            store=store,
            clients=clients,
            p50_ms=round(percentiles["http + keys"][0], 2),
            p99_ms=round(percentiles["http + keys"][1], 2),
        )
    )
    click.echo(
        _result_line(
            "http",
            medians["http"],
            "requests/s",
            medians["in process"],
            store=store,
            clients=clients,
            p50_ms=round(percentiles["http"][0], 2),
            p99_ms=round(percentiles["http"][1], 2),
            errors=len(errors),
            followers=followers,
            inprocess_p50_ms=round(percentiles["in process"][0], 2),
            inprocess_p99_ms=round(percentiles["in process"][1], 2),
        )
    )


Fleet = list[tuple[uuid.UUID, uuid.UUID]]  # one (customer, vehicle) per client
VARIANTS = ("http", "http + keys", "in process")


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
            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _fleet(workshop: Workshop, label: str, clients: int, serials: Iterator[int]) -> Fleet:
    """One customer and one vehicle per client, registered through the use cases.

    VINs use the European VW layout, which has no check digit, so any six-digit serial is
    valid; the serials come from one counter per run because the store is fresh each run and
    a random serial could repeat (the second registration would fail as a duplicate). The
    plate carries the same serial, since plates are unique too.
    """
    fleet = []
    for i in range(clients):
        serial = next(serials)
        customer = workshop.register_customer(
            name=f"Bench {label} {i}", email=f"bench{i}@example.com", phone=None, actor=ADVISOR
        ).id
        vehicle = workshop.register_vehicle(
            vin=f"WVWZZZE1ZMP{serial:06d}",
            # Plates are unique among live vehicles (ADR 0012): the run's serial keeps them so
            # when several labels share a store.
            plate=f"B-{serial:06d}",
            make=None,
            model="ID.3",
            year=2021,
            battery_kwh=Decimal("58"),
            nominal_voltage_v=Decimal("400"),
            owner_id=customer,
            actor=ADVISOR,
        ).id
        fleet.append((customer, vehicle))
    return fleet


def _bench_token(settings: Settings) -> str:
    from regenzet.application.identity import Principal
    from regenzet.entrypoints.container import token_issuer

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
            REGENZET_PG_POOL_SIZE=str(self.settings.pg_pool_size),
            REGENZET_PG_MAX_OVERFLOW=str(self.settings.pg_max_overflow),
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
                "regenzet.entrypoints.http.app:app_from_env",
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


def _inprocess_open(
    workshop: Workshop, _client: Any, customer: uuid.UUID, vehicle: uuid.UUID, km: int
) -> str | None:
    workshop.open_repair_order(
        vehicle_id=vehicle,
        customer_id=customer,
        concerns=["bench"],
        odometer_in_km=km,
        soc_in_pct=None,
        promised_at=None,
        actor=ADVISOR,
    )
    return None


def _drive(
    fleet: Fleet,
    count: int,
    open_order: Callable[..., str | None],
    progress: Progress,
    task: Any,
    errors: list[str],
) -> tuple[float, list[float]]:
    """Each client opens its share of ``count`` orders on its own vehicle, back to back."""
    shares = [count // len(fleet) + (1 if i < count % len(fleet) else 0) for i in range(len(fleet))]
    latencies: list[list[float]] = [[] for _ in fleet]
    lock = threading.Lock()
    start = threading.Barrier(len(fleet) + 1)

    def client(i: int) -> None:
        customer, vehicle = fleet[i]
        with httpx.Client(timeout=30) as session:
            start.wait()
            for n in range(shares[i]):
                began = time.perf_counter()
                try:
                    error = open_order(session, customer, vehicle, 100 + n)
                except Exception as exc:  # a failed request is an error, not a crash
                    error = f"{type(exc).__name__}: {exc}"
                latencies[i].append(time.perf_counter() - began)
                if error:
                    with lock:
                        errors.append(error)
                if n % 20 == 19:
                    progress.advance(task, 20)
            progress.advance(task, shares[i] % 20)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(fleet))]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return count / elapsed, [x for per in latencies for x in per]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    if len(samples) < 2:
        only = samples[0] * 1000 if samples else 0.0
        return only, only
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


# ---------------------------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------------------------


@bench.command(help="Follower catch-up events/s in batches vs one transaction per event; live lag.")
@click.option(
    "--events",
    "target",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Approximate number of events to pre-fill.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=100_000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Events per transaction during catch-up (the followers' default).",
)
@click.option(
    "--anchor-events",
    type=click.IntRange(min=1),
    default=5_000,
    show_default=True,
    help="Prefix of the log the one-transaction-per-event anchor replays (it is slow).",
)
@click.option(
    "--live-seconds",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Duration of the live phase (0 skips it).",
)
@click.option(
    "--live-rate",
    type=click.FloatRange(min=0.1),
    default=50.0,
    show_default=True,
    help="Repair orders opened per second during the live phase.",
)
def projections(
    target: int, batch: int, anchor_events: int, live_seconds: float, live_rate: float
) -> None:
    """Every read model ``build_followers`` runs (workshop board, vehicle profiles, customer
    portal, ...) on a pre-filled log.

    * catch-up: each follower replays the whole log from position 0 in transactions of
      ``--batch`` events, one follower after the other; the figure is *log events processed
      per second across all read models* = head x followers / total seconds;
    * anchor: the same followers on the same store and log, rebuilt and driven with a batch of
      one (one transaction per event) over the first ``--anchor-events`` events, same formula;
    * live: the followers run in a ``FollowerRunner`` (NOTIFY on Postgres, polling on SQLite)
      while repair orders are opened at a steady rate; lag is from the moment the writer holds
      its receipt to the moment the workshop board's position reaches it.
    """
    settings = Settings.from_env()
    prepare_store(settings)
    store_kind = "postgres" if settings.uses_postgres else "sqlite"
    with _scratch(settings, "proj") as (env, _):
        workshop = _workshop(env)
        try:
            head = _prefill(workshop, target)
            # The read-model store is chosen from ``env``: on SQLite a read_models.db beside
            # the scratch event store (inside the temporary directory), on Postgres the scratch
            # schema. ``settings`` only sizes the pool, so the product's settings are fine.
            followers, store = build_followers(workshop, env, settings)
            try:
                anchor = _replay_followers(followers, 1, anchor_events, "anchor: 1 event per tx")
                catchup = _replay_followers(followers, batch, head, f"catch-up: batches of {batch}")
                lags: list[float] = []
                writes = 0
                if live_seconds > 0:
                    channel = getattr(workshop.recorder, "channel_name", None)
                    waker = Waker(env, channel if settings.uses_postgres else None)
                    lags, writes = _live_lag(
                        workshop, store, FollowerRunner(followers, waker), live_seconds, live_rate
                    )
            finally:
                followers[0].reader.close()  # one reader shared by every follower
                store.close()
        finally:
            workshop.close()
    catchup_rate, anchor_rate = catchup.rate, anchor.rate
    p50, p99 = _percentiles(lags)
    table = Table(
        title=f"projections on {store_kind}: {head:,} events, {len(followers)} read models",
        caption="all = events x read models / seconds, followers one after another",
    )
    for col in ("phase", "read model", "events", "seconds", "events/s", "vs anchor"):
        table.add_column(col)
    for label, phase in (("catch-up", catchup), ("anchor", anchor)):
        for name, (events, seconds) in phase.per_model.items():
            model_rate = events / seconds
            table.add_row(
                label,
                name,
                f"{events:,}",
                f"{seconds:.2f}",
                f"{model_rate:,.0f}",
                f"{model_rate / anchor.model_rate(name):.1f}",
            )
        table.add_row(
            label,
            "all",
            f"{phase.events:,}",
            f"{phase.seconds:.2f}",
            f"{phase.rate:,.0f}",
            f"{phase.rate / anchor_rate:.1f}",
            end_section=True,
        )
    Console().print(table)
    if lags:
        Console().print(
            f"live: {writes:,} repair orders at {live_rate:g}/s for {live_seconds:g} s; "
            f"workshop board lag p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
    click.echo(
        _result_line(
            "projections",
            catchup_rate,
            "events/s",
            anchor_rate,
            store=store_kind,
            events=head,
            batch=batch,
            anchor_events=anchor.events // max(len(followers), 1),
            lag_p50_ms=round(p50, 2) if lags else None,
            lag_p99_ms=round(p99, 2) if lags else None,
            live_writes=writes,
            per_model={name: round(catchup.model_rate(name), 1) for name in catchup.per_model},
            anchor_per_model={name: round(anchor.model_rate(name), 1) for name in anchor.per_model},
        )
    )


@attrs.frozen
class _Replay:
    """Events applied and seconds spent, per read model and in all."""

    per_model: dict[str, tuple[int, float]]

    @property
    def events(self) -> int:
        return sum(events for events, _ in self.per_model.values())

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.per_model.values())

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def model_rate(self, name: str) -> float:
        events, seconds = self.per_model[name]
        return events / seconds if seconds else 0.0


def _replay_followers(followers: list[Follower], batch: int, upto: int, label: str) -> _Replay:
    """Rebuilds each read model from position 0 up to ``upto`` (at least) in transactions of
    ``batch`` events, one follower after the other, timing each.

    Each starts cold: tables emptied (``store.reset``, as ``Follower.rebuild`` does) and the
    projection's fold cache forgotten, so no phase profits from aggregates the previous one
    folded. Only ``step`` is timed, the same code ``catch_up`` and the runner use.
    """
    per_model: dict[str, tuple[int, float]] = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=upto * len(followers))
        for follower in followers:
            follower.store.reset(follower.projection)
            forget = getattr(follower.projection, "forget", None)
            if callable(forget):
                forget()
            follower.batch = batch
            applied = 0
            started = time.perf_counter()
            while applied < upto and (step := follower.step()):
                applied += step
                if applied % 1000 < step:  # refresh the bar about every thousand events
                    progress.update(task, completed=len(per_model) * upto + applied)
            per_model[follower.name] = (applied, time.perf_counter() - started)
    return _Replay(per_model)


def _live_lag(
    workshop: Workshop,
    store: ReadModelStore,
    runner: FollowerRunner,
    seconds: float,
    rate: float,
) -> tuple[list[float], int]:
    """Lag (seconds) of the workshop board behind a steady stream of writes; and the writes.

    The writer opens a repair order every ``1 / rate`` seconds on schedule (open loop: a slow
    write does not push the next ones back, so the load stays the one asked for) and notes its
    receipt's log position and the time it got it. A sampler polls the board's position and
    notes when it changes; a write's lag is the first sample at or past its position minus
    the receipt time. A write the board already holds by then counts as 0: the reader could
    not have seen it any sooner.
    """
    clients = 8  # vehicles to rotate over: no aggregate grows absurdly long in a short run
    fleet = _fleet(workshop, "live", clients, itertools.count())
    written: list[tuple[int, float]] = []
    seen: list[tuple[float, int]] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        last = -1
        while not stop_sampling.is_set():
            position = store.status(WorkshopBoard.name)[0]
            if position != last:
                seen.append((time.perf_counter(), position))
                last = position
            time.sleep(0.0005)  # sub-millisecond resolution, without hogging the GIL

    count = max(1, round(seconds * rate))
    runner.start()
    sampler = threading.Thread(target=sample, name="bench-lag-sampler", daemon=True)
    try:
        # Let the runner catch up with the fleet's registrations before the clock starts.
        head = workshop.recorder.max_notification_id() or 0
        if not wait_until(lambda: store.status(WorkshopBoard.name)[0] >= head, timeout=30):
            raise click.ClickException("the followers did not catch up before the live phase")
        sampler.start()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"live: {rate:g} orders/s", total=count)
            began = time.perf_counter()
            for i in range(count):
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                customer, vehicle = fleet[i % clients]
                receipt = workshop.open_repair_order(
                    vehicle_id=vehicle,
                    customer_id=customer,
                    concerns=["bench"],
                    odometer_in_km=100 + i,
                    soc_in_pct=None,
                    promised_at=None,
                    actor=ADVISOR,
                )
                if receipt.position is not None:
                    written.append((receipt.position, time.perf_counter()))
                progress.advance(task)
        last_position = max((p for p, _ in written), default=0)
        if not wait_until(lambda: bool(seen) and seen[-1][1] >= last_position, timeout=30):
            raise click.ClickException("the workshop board did not reach the last write in 30 s")
    finally:
        stop_sampling.set()
        if sampler.is_alive():
            sampler.join()
        runner.stop()
    lags = []
    times = [t for t, _ in seen]
    positions = [p for _, p in seen]
    for position, at in written:
        first = bisect.bisect_left(positions, position)  # positions only grow
        lags.append(max(0.0, times[first] - at))
    return lags, len(written)


# ---------------------------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------------------------

_SYLLABLES = (
    *("an", "ber", "cor", "da", "el", "fan", "gro", "hei", "in", "jan", "kor", "lu"),
    *("mer", "no", "os", "pet", "ri", "san", "ter", "ul", "van", "wes", "yl", "zan"),
)
_SeedVehicle = attrs.make_class(  # an object with a vehicle's attributes, for vehicle_row
    "SeedVehicle",
    ["id", "version", "vin", "plate", "make", "model", "year", "owner_id", "odometer_km"],
)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_PLATE_LETTERS = "BDFGHJKLNPRSTVXZ"


def _word(rng: Any, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _seed_directories(
    store: ReadModelStore, customers: int, vehicles: int, rng: Any, progress: Progress
) -> tuple[list[str], list[str], float]:
    """Rows written straight into the directory tables in bulk transactions, built by the same
    row functions the followers use (what is measured is the query path, not 300k
    aggregates' commands). Returns sample surnames, sample plates and the seconds it took."""
    from regenzet.application import views
    from regenzet.application.directory_models import customer_row, vehicle_row

    began = time.perf_counter()
    surnames, plates = [], []
    owner_ids = []
    task = progress.add_task("seeding customers", total=customers)
    stamp = "2026-01-05T08:00:00+00:00"
    for start in range(0, customers, 5_000):
        with store.transaction("customer_directory") as tx:
            for i in range(start, min(start + 5_000, customers)):
                surname = _word(rng, rng.randint(2, 3))
                first = _word(rng, 2)
                cid = uuid.UUID(int=rng.getrandbits(128))
                owner_ids.append(cid)
                view = views.CustomerView(
                    cid,
                    1,
                    f"{first} {surname}",
                    f"{first.lower()}.{surname.lower()}{i}@example.com",
                    f"+31 6 {rng.randrange(10**8):08d}",
                    {},
                )
                row = customer_row(view, stamp)
                tx.put("customer_directory", row["id"], row)
                if i % 997 == 0:
                    surnames.append(surname)
        progress.advance(task, min(5_000, customers - start))
    task = progress.add_task("seeding vehicles", total=vehicles)
    for start in range(0, vehicles, 5_000):
        with store.transaction("vehicle_directory") as tx:
            for i in range(start, min(start + 5_000, vehicles)):
                plate = (
                    f"{rng.choice(_PLATE_LETTERS)}-{rng.randrange(1000):03d}-"
                    f"{rng.choice(_PLATE_LETTERS)}{rng.choice(_PLATE_LETTERS)}"
                )
                vehicle = _SeedVehicle(
                    uuid.UUID(int=rng.getrandbits(128)),
                    1,
                    "".join(rng.choice(_VIN_CHARS) for _ in range(17)),
                    plate,
                    "Nissan",
                    "Leaf",
                    2020,
                    owner_ids[i % len(owner_ids)],
                    10_000,
                )
                row = vehicle_row(vehicle, stamp)
                tx.put("vehicle_directory", row["id"], row)
                if i % 1999 == 0:
                    plates.append(plate)
        progress.advance(task, min(5_000, vehicles - start))
    return surnames, plates, time.perf_counter() - began


_RAW_SEARCH = {
    # The statements the store runs for listCustomers?q= and listVehicles?q= (see the store's
    # _prefix_sql), written out by hand: the anchor is the database alone, no decoding.
    "customer": (
        "SELECT key, doc FROM rm_customer_directory WHERE key IN ("
        "SELECT key FROM rm_customer_directory__name_words"
        " WHERE value{c} >= {p} AND value{c} < {p}"
        " UNION SELECT key FROM rm_customer_directory"
        " WHERE ix_email_key{c} >= {p} AND ix_email_key{c} < {p})"
        " ORDER BY COALESCE(ix_name_key, '~'), key LIMIT 51"
    ),
    "plate": (
        "SELECT key, doc FROM rm_vehicle_directory WHERE key IN ("
        "SELECT key FROM rm_vehicle_directory"
        " WHERE ix_plate_key{c} >= {p} AND ix_plate_key{c} < {p}"
        " UNION SELECT key FROM rm_vehicle_directory WHERE ix_vin{c} >= {p} AND ix_vin{c} < {p}"
        " UNION SELECT key FROM rm_vehicle_directory"
        " WHERE ix_vin_reversed{c} >= {p} AND ix_vin_reversed{c} < {p})"
        " ORDER BY COALESCE(ix_plate_key, '~'), key LIMIT 51"
    ),
}


def _no_load(aggregate_id: Any, version: int) -> Any:
    raise AssertionError("the search benchmark seeds rows; it never folds events")


def _bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _raw_statement(kind: str, postgres: bool) -> str:
    return _RAW_SEARCH[kind].format(
        c=' COLLATE "C"' if postgres else "", p="%s" if postgres else "?"
    )


def _time_searches(
    store: ReadModelStore, raw: Any, cases: dict[str, list[str]], postgres: bool, queries: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Interleaved timings of the store's query and the raw statement, and each query plan."""
    from regenzet.application.directory_models import customer_query, vehicle_query
    from regenzet.application.projections import Query

    timings: dict[str, list[float]] = {}
    plans: dict[str, str] = {}

    def built(kind: str, q: str) -> tuple[Query, list[str]]:
        if kind == "customer":
            prefixes = customer_query(q)
            query = Query("customer_directory", prefixes=prefixes, order_by="name_key")
            pairs = prefixes[:2]  # name words and email: the raw statement's two clauses
        else:
            prefixes = vehicle_query(q)
            query = Query("vehicle_directory", prefixes=prefixes, order_by="plate_key")
            pairs = prefixes
        return query, [v for _, prefix in pairs for v in (prefix, _bound(prefix))]

    for kind, samples in cases.items():
        statement = _raw_statement(kind, postgres)
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = raw.execute(explain + statement, built(kind, samples[0])[1]).fetchall()
        plans[kind] = "\n".join(str(row[-1]) for row in plan)
        store_times, raw_times = timings.setdefault(kind, []), timings.setdefault(f"{kind}_raw", [])
        for i in range(queries):
            query, params = built(kind, samples[i % len(samples)])
            began = time.perf_counter()
            store.query(query)
            store_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            raw.execute(statement, params).fetchall()
            raw_times.append(time.perf_counter() - began)
    return timings, plans


@bench.command(help="p50 of customer and plate searches on big directories vs raw SQL.")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Customer rows to seed.",
)
@click.option(
    "--vehicles",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Vehicle rows to seed.",
)
@click.option(
    "--queries",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Searches per kind and variant (interleaved).",
)
def search(customers: int, vehicles: int, queries: int) -> None:
    """Seeds ``--customers`` customer rows and ``--vehicles`` vehicle rows straight into the
    directory read models (bulk transactions through the read-model store; no aggregates, as
    only the query path is measured), then times, interleaved:

    * the store's query for ``GET /customers?q=<first 4 letters of a surname>`` and for
      ``GET /vehicles?q=<plate without its last letter>`` (the Query the route builds, JSON
      documents decoded), first page of 50;
    * the anchor: the same SQL statement on a raw connection, rows fetched, not decoded.

    Prints p50/p99 per variant and the query plans (the prefix must be an index range).
    """
    import random

    from regenzet.application.directory_models import directory_projections
    from regenzet.entrypoints.container import read_model_store

    settings = Settings.from_env()
    prepare_store(settings)
    postgres = settings.uses_postgres
    store_kind = "postgres" if postgres else "sqlite"
    rng = random.Random(11)  # reproducible test data
    with _scratch(settings, "search") as (env, connect):
        store = read_model_store(env, settings)
        try:
            for projection in directory_projections(_no_load)[:2]:
                store.reset(projection)  # customers and vehicles
            with Progress(console=console, transient=True) as progress:
                surnames, plates, seeded = _seed_directories(
                    store, customers, vehicles, rng, progress
                )
            raw = (
                connect()
                if postgres
                else sqlite3.connect(
                    Path(env["SQLITE_DBNAME"]).with_name("read_models.db"), isolation_level=None
                )
            )
            try:
                raw.execute("ANALYZE")  # what autovacuum / a periodic ANALYZE gives production
                cases = {
                    "customer": [s[:4].lower() for s in surnames],
                    "plate": [p[:-1] for p in plates],
                }
                timings, plans = _time_searches(store, raw, cases, postgres, queries)
            finally:
                raw.close()
        finally:
            store.close()
    _report_search(store_kind, customers, vehicles, queries, seeded, timings, plans)


def _report_search(
    store_kind: str,
    customers: int,
    vehicles: int,
    queries: int,
    seeded: float,
    timings: dict[str, list[float]],
    plans: dict[str, str],
) -> None:
    figures = {name: _percentiles(samples) for name, samples in timings.items()}
    table = Table(
        title=f"search on {store_kind}: {customers:,} customers, {vehicles:,} vehicles",
        caption=f"{queries} queries per variant, interleaved; seeded in {seeded:.1f} s",
    )
    for col in ("query", "path", "p50 ms", "p99 ms", "vs raw SQL p50"):
        table.add_column(col)
    for kind in ("customer", "plate"):
        raw_p50 = figures[f"{kind}_raw"][0]
        for name, label in ((kind, "read-model store"), (f"{kind}_raw", "raw SQL")):
            p50, p99 = figures[name]
            table.add_row(kind, label, f"{p50:.3f}", f"{p99:.3f}", f"{p50 / raw_p50:.2f}")
    Console().print(table)
    for kind, plan in plans.items():
        Console().print(f"[bold]plan, {kind} search[/bold]\n{plan}")
    uses_index = all(
        ("INDEX" in plan.upper()) and ("SCAN rm_" not in plan or "USING" in plan)
        for plan in plans.values()
    )
    click.echo(
        _result_line(
            "search",
            figures["customer"][0] * 1000,
            "us p50 customer search",
            figures["customer_raw"][0] * 1000,
            store=store_kind,
            customers=customers,
            vehicles=vehicles,
            queries=queries,
            customer_p99_us=round(figures["customer"][1] * 1000, 1),
            plate_p50_us=round(figures["plate"][0] * 1000, 1),
            plate_raw_p50_us=round(figures["plate_raw"][0] * 1000, 1),
            plate_ratio=round(figures["plate"][0] / figures["plate_raw"][0], 3),
            plate_p99_us=round(figures["plate"][1] * 1000, 1),
            plans_use_indexes=uses_index,
            seed_seconds=round(seeded, 1),
        )
    )
# chat
# ---------------------------------------------------------------------------------------------

# Owner and advisor questions (as in the golden transcripts), by demo login.
CHAT_QUESTIONS = (
    ("sanne", "Is my car ready?"),
    ("amira", "Is my car ready?"),
    ("lukas", "What is waiting for my approval?"),
    ("lukas", "Why does the quote include cell balancing?"),
    ("lukas", "How is my battery doing?"),
    ("eva", "Which cars are waiting for parts?"),
    ("eva", "What did we measure on the Leaf H-456-LF last time?"),
    ("noor", "What is my workload?"),
)


@bench.command("chat", help="Offline assistant answer latency p50/p99; loop overhead per round.")
@click.option("--count", default=400, show_default=True, help="Questions to time.")
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds (median).")
def chat(count: int, rounds: int) -> None:
    """Method: the demo garage seeded into throwaway storage, read models caught up, then

    * **answer latency**: ``count`` questions cycling through owner and advisor questions, each
      a full turn of the offline assistant (intent matching, tool rounds through the object
      checks and read models, the templated answer, the audit record written);
    * **loop overhead per tool round**: the one-round question "Which cars are waiting for
      parts?" timed end to end (with and without writing the audit record) vs the bare
      read-model query its tool wraps (what ``GET /board?status=waiting_for_parts`` runs),
      interleaved, medians of ``rounds``.
    """
    from regenzet.entrypoints.demo import seed_demo

    settings = Settings.from_env()
    prepare_store(settings)
    with _scratch(settings, "chat") as (env, _connect):
        clock = ManualClock(datetime.now(UTC) - timedelta(days=6))
        workshop = workshop_for(env, clock)
        try:
            with console.status("seeding the demo garage"):
                seed_demo(workshop, clock)
                followers, store = build_followers(workshop, env, settings)
                for follower in followers:
                    follower.catch_up()
            try:
                figures = _chat_figures(settings, workshop, store, count, rounds)
            finally:
                store.close()
        finally:
            workshop.close()

    table = Table(title=f"offline assistant ({'Postgres' if settings.uses_postgres else 'SQLite'})")
    for column in ("measure", "ms"):
        table.add_column(column)
    for label, key in (
        ("answer latency p50", "p50_ms"),
        ("answer latency p99", "p99_ms"),
        ("one-round turn (median)", "one_round_turn_ms"),
        ("one-round turn without the audit record", "turn_without_audit_ms"),
        ("bare board query (median)", "bare_query_ms"),
        ("loop overhead per tool round", "overhead_per_round_ms"),
    ):
        table.add_row(label, f"{figures[key]:.3f}")
    console.print(table)
    print(
        _result_line(
            "chat",
            figures["one_round_turn_ms"],
            "ms",
            figures["bare_query_ms"],
            questions=count,
            store="postgres" if settings.uses_postgres else "sqlite",
            **figures,
        )
    )


def _chat_figures(
    settings: Settings, workshop: Workshop, store: ReadModelStore, count: int, rounds: int
) -> dict[str, float]:
    from regenzet.application.chat import collect
    from regenzet.application.identity import Principal
    from regenzet.application.projections import Query
    from regenzet.entrypoints.container import chat_assistant
    from regenzet.entrypoints.demo import demo_logins

    assistant, _turns = chat_assistant(settings, workshop, store)
    unaudited, _ = chat_assistant(settings, workshop, store, record_turns=False)
    logins = demo_logins()

    def principal(name: str) -> Principal:
        login = logins[name]
        return Principal(login.subject, login.role, login.customer_id, login.staff_id)

    questions = [(principal(who), q) for who, q in CHAT_QUESTIONS]
    for who, question in questions:  # warm caches and connections
        collect(assistant.ask(who, question))
    latencies: list[float] = []
    tool_rounds: list[int] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("questions", total=count)
        for i in range(count):
            who, question = questions[i % len(questions)]
            began = time.perf_counter()
            done, _ = collect(assistant.ask(who, question))
            latencies.append(time.perf_counter() - began)
            tool_rounds.append(done.tool_rounds)
            progress.advance(task)
    p50, p99 = _percentiles(latencies)

    eva = principal("eva")
    board = Query("board", equals={"status": "waiting_for_parts"}, order_by="promised_at", limit=25)
    per = max(50, count // 4)
    samples: dict[str, list[float]] = {"turn": [], "unaudited": [], "bare": []}

    def timed(key: str, op: Callable[[], Any]) -> None:
        began = time.perf_counter()
        for _ in range(per):
            op()
        samples[key].append((time.perf_counter() - began) * 1000 / per)

    question = "Which cars are waiting for parts?"
    for _ in range(rounds):
        timed("turn", lambda: collect(assistant.ask(eva, question)))
        timed("unaudited", lambda: collect(unaudited.ask(eva, question)))
        timed("bare", lambda: store.query(board))
    turn, plain, bare = (statistics.median(samples[k]) for k in ("turn", "unaudited", "bare"))
    return {
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "mean_tool_rounds": round(statistics.mean(tool_rounds), 2),
        "one_round_turn_ms": round(turn, 3),
        "turn_without_audit_ms": round(plain, 3),
        "bare_query_ms": round(bare, 4),
        "overhead_per_round_ms": round(turn - bare, 3),
    }
