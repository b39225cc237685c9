"""``replay``: decoded events/s reading the whole log in batches (the product's bulk reader and
decoder, as followers use them) vs a raw keyset SELECT of the same rows in the driver's
default (text) mode, without decoding."""

from __future__ import annotations

import statistics
import time
from typing import Any

import click

from benchmarks.common import (
    bench_workshop,
    configured_store,
    emit,
    events_option,
    events_table,
    prefill,
    rate_row,
    rounds_option,
    scratch,
    show_table,
    store_kind,
)
from regenzet.application.ports import EventLogReader
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import event_log_reader


@click.command(
    "replay", help="Decoded events/s reading the whole log in batches vs raw keyset SELECT."
)
@events_option()
@click.option("--batch", type=click.IntRange(min=1, max=100_000), default=1000, show_default=True)
@rounds_option(3)
def command(target: int, batch: int, rounds: int) -> None:
    settings = configured_store()
    store = store_kind(settings)
    with scratch(settings, "replay") as (env, raw_connect):
        workshop = bench_workshop(env)
        try:
            total = prefill(workshop, target)
            conn = raw_connect()
            reader = event_log_reader(env, workshop)
            decoded_rates, raw_rates = [], []
            try:
                for _ in range(rounds):
                    decoded_rates.append(read_decoded(workshop, reader, batch, total))
                    raw_rates.append(
                        read_raw(
                            conn,
                            events_table(settings),
                            batch,
                            total,
                            postgres=settings.uses_postgres,
                        )
                    )
            finally:
                conn.close()
                reader.close()
        finally:
            workshop.close()
    decoded, raw = statistics.median(decoded_rates), statistics.median(raw_rates)
    show_table(
        f"replay on {store}: {total:,} events, batches of {batch}",
        ("variant", "median /s", "rounds /s", "vs raw SELECT"),
        [
            [
                rate_row("decoded events", decoded_rates, raw),
                rate_row("raw keyset SELECT", raw_rates, raw),
            ]
        ],
    )
    emit("replay", decoded, "events/s", raw, store=store, events=total)


def read_decoded(workshop: Workshop, reader: EventLogReader, batch: int, total: int) -> float:
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


def read_raw(
    conn: Any, table: str, batch: int, total: int, *, postgres: bool, binary: bool = False
) -> float:
    """Rows/s of a keyset SELECT of the whole log on a raw connection, without decoding."""
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
