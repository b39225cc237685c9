"""What every benchmark shares: throwaway storage, the run's clock and workshop, the log
pre-fill, the report table and the JSON result line (always the last line printed)."""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PaymentMethod,
    RepairOrder,
)
from regenzet.entrypoints.container import ManualClock, event_store_env, workshop_for
from regenzet.entrypoints.settings import Settings

console = Console(stderr=True)  # progress and notes; stdout carries the table and the JSON line
ADVISOR = Actor("bench-advisor", Role.ADVISOR)

# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------


def store_kind(settings: Settings) -> str:
    return "postgres" if settings.uses_postgres else "sqlite"


def result_line(bench: str, value: float, unit: str, anchor: float, **extra: Any) -> str:
    record = {
        "bench": bench,
        "value": round(value, 1),
        "unit": unit,
        "anchor": round(anchor, 1),
        "ratio": round(value / anchor, 3) if anchor else None,
    }
    record.update(extra)
    return json.dumps(record)


def emit(bench: str, value: float, unit: str, anchor: float, **extra: Any) -> None:
    """Prints the result line on stdout."""
    click.echo(result_line(bench, value, unit, anchor, **extra))


def show_table(
    title: str,
    columns: Sequence[str],
    sections: Iterable[Iterable[Sequence[str]]],
    *,
    caption: str | None = None,
    out: Console | None = None,
) -> None:
    """One rich table, a rule between sections; on stdout unless ``out`` says otherwise."""
    table = Table(title=title, caption=caption)
    for column in columns:
        table.add_column(column)
    for section in sections:
        rows = list(section)
        for i, row in enumerate(rows):
            table.add_row(*row, end_section=i == len(rows) - 1)
    (out or Console()).print(table)


def medians(rates: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in rates.items()}


def rate_row(name: str, rounds: list[float], anchor: float) -> tuple[str, str, str, str]:
    """variant, median /s, rounds /s, median vs the anchor."""
    rate = statistics.median(rounds)
    return name, f"{rate:,.0f}", ", ".join(f"{x:,.0f}" for x in rounds), f"{rate / anchor:.2f}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    if len(samples) < 2:
        only = samples[0] * 1000 if samples else 0.0
        return only, only
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


# ---------------------------------------------------------------------------------------------
# scratch stores
# ---------------------------------------------------------------------------------------------


@contextmanager
def scratch(settings: Settings, label: str) -> Iterator[tuple[dict[str, str], Callable[[], Any]]]:
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
        drop_schema(url, schema)


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def events_table(settings: Settings) -> str:
    """The event store's table, for the raw anchors."""
    return "regenzet_events" if settings.uses_postgres else "stored_events"


def bench_clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))


def bench_workshop(env: dict[str, str]) -> Workshop:
    return workshop_for(env, bench_clock())


# ---------------------------------------------------------------------------------------------
# a realistic log
# ---------------------------------------------------------------------------------------------


def prefill(workshop: Workshop, target: int) -> int:
    """Realistic log: full repair-order lifecycles (about 20 events each), saved per order."""
    clock = workshop.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the pre-fill needs the benchmark's manual clock")
    written = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("pre-filling the log", total=target)
        while written < target:
            order = lifecycle(clock)
            recordings = workshop.save(order)
            written += len(recordings)
            progress.update(task, completed=written)
    return written


def lifecycle(clock: ManualClock) -> RepairOrder:
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
