"""``projections``: log events/s the followers of every read model catch up with, in batches,
vs the same followers at one transaction per event (on a prefix of the same log); then the
workshop board's lag p50/p99 behind a steady stream of writes with the followers live."""

from __future__ import annotations

import bisect
import itertools
import threading
import time

import attrs
import click
from rich.console import Console
from rich.progress import Progress

from benchmarks.common import (
    bench_workshop,
    configured_store,
    console,
    emit,
    events_option,
    percentiles,
    prefill,
    scratch,
    show_table,
    store_kind,
)
from benchmarks.http_api import fleet, open_order
from regenzet.application.projections import DEFAULT_BATCH, Follower, ReadModelStore
from regenzet.application.read_models import WorkshopBoard
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import build_followers, waker
from regenzet.entrypoints.followers import FollowerRunner, wait_until


@click.command(
    "projections",
    help="Follower catch-up events/s in batches vs one transaction per event; live lag.",
)
@events_option()
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
def command(
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
    settings = configured_store()
    kind = store_kind(settings)
    with scratch(settings, "proj") as (env, _):
        workshop = bench_workshop(env)
        try:
            head = prefill(workshop, target)
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
                    live_waker = waker(workshop, env, settings)
                    runner = FollowerRunner(followers, live_waker)
                    lags, writes = _live_lag(workshop, store, runner, live_seconds, live_rate)
            finally:
                followers[0].reader.close()  # one reader shared by every follower
                store.close()
        finally:
            workshop.close()
    catchup_rate, anchor_rate = catchup.rate, anchor.rate
    p50, p99 = percentiles(lags)
    sections = []
    for label, phase in (("catch-up", catchup), ("anchor", anchor)):
        rows = [
            (
                label,
                name,
                f"{events:,}",
                f"{seconds:.2f}",
                f"{events / seconds:,.0f}",
                f"{events / seconds / anchor.model_rate(name):.1f}",
            )
            for name, (events, seconds) in phase.per_model.items()
        ]
        rows.append(
            (
                label,
                "all",
                f"{phase.events:,}",
                f"{phase.seconds:.2f}",
                f"{phase.rate:,.0f}",
                f"{phase.rate / anchor_rate:.1f}",
            )
        )
        sections.append(rows)
    show_table(
        f"projections on {kind}: {head:,} events, {len(followers)} read models",
        ("phase", "read model", "events", "seconds", "events/s", "vs anchor"),
        sections,
        caption="all = events x read models / seconds, followers one after another",
    )
    if lags:
        Console().print(
            f"live: {writes:,} repair orders at {live_rate:g}/s for {live_seconds:g} s; "
            f"workshop board lag p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
    emit(
        "projections",
        catchup_rate,
        "events/s",
        anchor_rate,
        store=kind,
        events=head,
        batch=batch,
        anchor_events=anchor.events // max(len(followers), 1),
        lag_p50_ms=round(p50, 2) if lags else None,
        lag_p99_ms=round(p99, 2) if lags else None,
        live_writes=writes,
        per_model={name: round(catchup.model_rate(name), 1) for name in catchup.per_model},
        anchor_per_model={name: round(anchor.model_rate(name), 1) for name in anchor.per_model},
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
    pairs = fleet(workshop, "live", clients, itertools.count())
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
                customer, vehicle = pairs[i % clients]
                receipt = open_order(workshop, customer, vehicle, 100 + i)
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
