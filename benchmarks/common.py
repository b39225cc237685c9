"""What every benchmark shares: throwaway storage, the run's clock and workshop, the log
pre-fill (the shared scenarios' closed orders), the report table and the JSON result line
(always the last line printed)."""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from regenzet.application.scenarios import fill_log
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import (
    ManualClock,
    event_store_env,
    prepare_store,
    workshop_for,
)
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
# options
# ---------------------------------------------------------------------------------------------


def events_option(
    *, minimum: int = 1, text: str = "Approximate number of events to pre-fill."
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--events`` (the command's ``target``): how long a log to pre-fill."""
    return click.option(
        "--events",
        "target",
        type=click.IntRange(min=minimum),
        default=100_000,
        show_default=True,
        help=text,
    )


def rounds_option(
    default: int, text: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--rounds``: interleaved repetitions; the report gives their median."""
    return click.option(
        "--rounds", type=click.IntRange(min=1), default=default, show_default=True, help=text
    )


# ---------------------------------------------------------------------------------------------
# scratch stores
# ---------------------------------------------------------------------------------------------


def configured_store() -> Settings:
    """The settings from the environment, with the configured store prepared."""
    settings = Settings.from_env()
    prepare_store(settings)
    return settings


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


def prefill(workshop: Workshop, target: int) -> int:
    """Realistic log: full repair-order lifecycles (about 20 events each), saved per order."""
    clock = workshop.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the pre-fill needs the benchmark's manual clock")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("pre-filling the log", total=target)
        return fill_log(
            workshop,
            clock,
            target,
            advisor=ADVISOR,
            progress=lambda written: progress.update(task, completed=written),
        )
