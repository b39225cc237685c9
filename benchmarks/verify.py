"""``verify``: hash-chain verification events/s (``regenzet audit verify``'s path, in parallel
and in one process) vs a raw keyset SELECT of the same rows, and the chain follower's linking
rate, on a pre-filled log."""

from __future__ import annotations

import statistics
import time

import click
from rich.progress import Progress

from benchmarks.common import (
    bench_clock,
    bench_workshop,
    configured_store,
    console,
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
from benchmarks.replay import read_raw
from regenzet.entrypoints.bootstrap import event_log_reader, verify_opener


@click.command(
    "verify", help="Hash-chain verification events/s vs a raw keyset SELECT of the same rows."
)
@events_option(minimum=1_000, text="Events to pre-fill (full repair-order lifecycles).")
@click.option(
    "--batch", type=click.IntRange(min=100, max=100_000), default=10_000, show_default=True
)
@rounds_option(3)
def command(target: int, batch: int, rounds: int) -> None:
    from regenzet.application.audit import ChainFollower, Verifier
    from regenzet.entrypoints.audit_verify import default_workers, verify_log
    from regenzet.entrypoints.bootstrap import chain_store, throwaway_audit_signer

    settings = configured_store()
    store = store_kind(settings)
    signer = throwaway_audit_signer()
    with scratch(settings, "verify") as (env, raw_connect):
        workshop = bench_workshop(env)
        chain = chain_store(env)
        reader = event_log_reader(env, workshop)
        conn = raw_connect()
        try:
            total = prefill(workshop, target)
            follower = ChainFollower(chain, reader, signer, bench_clock(), checkpoint_every=10_000)
            started = time.perf_counter()
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("linking the chain", total=total)
                follower.catch_up(lambda n: progress.advance(task, n))
            link_rate = total / (time.perf_counter() - started)
            verifier = Verifier(reader, chain, signer, batch=batch)
            verify_rates: list[float] = []
            single_rates: list[float] = []
            raw_rates: list[float] = []
            for _ in range(rounds):  # interleaved, so drift hits all alike
                for rates, workers in ((verify_rates, default_workers()), (single_rates, 1)):
                    started = time.perf_counter()
                    report = verify_log(verifier, verify_opener(env), workers=workers)
                    elapsed = time.perf_counter() - started
                    if not report.intact or report.events_verified != total:
                        raise click.ClickException(f"verification failed: {report.summary()}")
                    rates.append(total / elapsed)
                raw_rates.append(
                    read_raw(
                        conn,
                        events_table(settings),
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
    show_table(
        f"verify on {store}: {total:,} events, batches of {batch}",
        ("variant", "median /s", "rounds /s", "vs raw SELECT"),
        [
            [
                rate_row(
                    f"regenzet audit verify ({default_workers()} processes)", verify_rates, raw
                ),
                rate_row("verify in one process", single_rates, raw),
                rate_row("raw keyset SELECT", raw_rates, raw),
                (
                    "linking (follower catch-up)",
                    f"{link_rate:,.0f}",
                    "1 run",
                    f"{link_rate / raw:.2f}",
                ),
            ]
        ],
    )
    emit(
        "verify",
        rate,
        "events/s",
        raw,
        store=store,
        events=total,
        workers=default_workers(),
        one_process=round(single),
        one_process_ratio=round(single / raw, 3),
        link_rate=round(link_rate),
    )
