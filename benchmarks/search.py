"""``search``: p50/p99 of a customer search and a plate search on big directory read models
(rows seeded straight into them) vs the same SQL statement on a raw connection, with the
query plans."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import attrs
import click
from rich.console import Console
from rich.progress import Progress

from benchmarks.common import (
    configured_store,
    console,
    emit,
    percentiles,
    scratch,
    show_table,
    store_kind,
)
from regenzet.application.projections import ReadModelStore

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


@click.command("search", help="p50 of customer and plate searches on big directories vs raw SQL.")
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
def command(customers: int, vehicles: int, queries: int) -> None:
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
    from regenzet.entrypoints.bootstrap import read_model_store

    settings = configured_store()
    postgres = settings.uses_postgres
    kind = store_kind(settings)
    rng = random.Random(11)  # reproducible test data
    with scratch(settings, "search") as (env, connect):
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
    _report_search(kind, customers, vehicles, queries, seeded, timings, plans)


def _report_search(
    store: str,
    customers: int,
    vehicles: int,
    queries: int,
    seeded: float,
    timings: dict[str, list[float]],
    plans: dict[str, str],
) -> None:
    figures = {name: percentiles(samples) for name, samples in timings.items()}
    rows = []
    for kind in ("customer", "plate"):
        raw_p50 = figures[f"{kind}_raw"][0]
        for name, label in ((kind, "read-model store"), (f"{kind}_raw", "raw SQL")):
            p50, p99 = figures[name]
            rows.append((kind, label, f"{p50:.3f}", f"{p99:.3f}", f"{p50 / raw_p50:.2f}"))
    show_table(
        f"search on {store}: {customers:,} customers, {vehicles:,} vehicles",
        ("query", "path", "p50 ms", "p99 ms", "vs raw SQL p50"),
        [rows],
        caption=f"{queries} queries per variant, interleaved; seeded in {seeded:.1f} s",
    )
    for kind, plan in plans.items():
        Console().print(f"[bold]plan, {kind} search[/bold]\n{plan}")
    uses_index = all(
        ("INDEX" in plan.upper()) and ("SCAN rm_" not in plan or "USING" in plan)
        for plan in plans.values()
    )
    emit(
        "search",
        figures["customer"][0] * 1000,
        "us p50 customer search",
        figures["customer_raw"][0] * 1000,
        store=store,
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
