"""``append``: commands/s through the use-case layer (``register_customer``) vs the bare
eventsourcing library saving a same-sized aggregate vs the raw driver doing the library's
insert recipe (Postgres: lock table + NOTIFY + INSERT per transaction; SQLite: INSERT per
transaction). Rounds are interleaved so drift hits every variant alike; medians are reported.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import click
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.progress import Progress

from benchmarks.common import (
    ADVISOR,
    bench_workshop,
    configured_store,
    console,
    emit,
    medians,
    rate_row,
    rounds_option,
    scratch,
    show_table,
    store_kind,
)
from regenzet.application.workshop import Workshop


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


@click.command("append", help="Commands/s: use-case layer vs bare library vs raw driver.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Commands per variant per round.",
)
@rounds_option(3)
def command(count: int, rounds: int) -> None:
    settings = configured_store()
    store = store_kind(settings)
    rates: dict[str, list[float]] = {"use case": [], "bare library": [], "raw driver": []}
    with (
        scratch(settings, "uc") as (uc_env, _),
        scratch(settings, "bare") as (bare_env, _),
        scratch(settings, "raw") as (_, raw_connect),
    ):
        workshop = bench_workshop(uc_env)
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
    median = medians(rates)
    show_table(
        f"append on {store} ({rounds} rounds x {count})",
        ("variant", "median /s", "rounds /s", "vs bare library"),
        [[rate_row(name, rounds_, median["bare library"]) for name, rounds_ in rates.items()]],
    )
    emit(
        "append",
        median["use case"],
        "commands/s",
        median["bare library"],
        store=store,
        raw=round(median["raw driver"], 1),
        ratio_raw=round(median["use case"] / median["raw driver"], 3),
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
