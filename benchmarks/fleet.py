"""``scripts/bench fleet``: does a read model's cost per event grow with a customer's history?

One fleet customer (a taxi company: ``--vehicles`` EVs, ``--technicians`` technicians on its
jobs) with 10, 1,000 and 10,000 repair orders of history, each a full lifecycle (quote,
approval, HV isolation, labour clocked on and off, completion, quality check, invoice, payment,
release; the vehicle's odometer recorded at opening, as ``open_repair_order`` does). For each
history size, on SQLite and (when ``REGENZET_DATABASE_URL`` or ``--postgres`` is given) on
Postgres, in one run:

1. the history is saved straight into a scratch event log through the aggregates' own commands,
   a hundred orders per save (the use cases would take an hour for 10,000 orders and measure
   the write path, not the followers);
2. every read model ``build_followers`` runs catches up with it (not timed);
3. ``--rounds`` times, for every size in turn (interleaved, so drift hits all sizes alike):
   ``--tail`` more orders of the same customer are saved, and each read model's follower catches up
   with them alone, timed (read + decode + apply + commit, the product's ``Follower.step``) in CPU
   time of the thread that runs it (``time.thread_time``: the progress bar's refresh thread and the
   connection pools' workers are not the follower's cost, and with a follower that ignores most
   events a tail takes a millisecond or two, so any other thread's work inside it weighs
   heavily on a process-wide figure) with the garbage collector paused, and in wall time. The figure is the best
   round's tail events per CPU second, and its inverse, the time per event: on a 2-vCPU machine
   shared with other work, wall time mostly measures the neighbours (a read model that ignores
   every event came out 2x slower at one size than at another); CPU time is the cost the follower
   pays per event. On SQLite that is all of it; on Postgres the server's share is not counted, so
   the wall figure is printed beside it. The tails add ``rounds x tail`` orders to every history
   (small beside 10,000, not beside 10: the smallest history is a few hundred orders by the last
   round, which only flatters the anchor).

Acceptance (issue 12): for every read model the figure at 10,000 orders is within 20 % of the
figure at 10. The JSON last line gives ``value`` (events/s at the largest history), ``anchor``
(at the smallest) and ``ratio`` for the read model and store with the lowest ratio.

One module of ``benchmarks/`` like the others (ADR 0033).
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.common import ADVISOR, bench_workshop, console, emit, scratch
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.repair_order import (
    ApprovalChannel,
    LabourLine,
    PartLine,
    PaymentMethod,
    RepairOrder,
)
from regenzet.entrypoints.bootstrap import ManualClock, build_followers, prepare_store
from regenzet.entrypoints.settings import Settings

MANAGER = Actor("bench-manager", Role.MANAGER)
SAVE_EVERY = 100  # orders per save while seeding


@attrs.define
class _Fleet:
    """The customer, their vehicles (with the odometer each has reached) and the technicians."""

    customer: uuid.UUID
    vehicles: list[Any]  # Vehicle aggregates, kept to record the odometer on each visit
    technicians: list[uuid.UUID]
    orders: int = 0


def _register(workshop: Workshop, vehicles: int, technicians: int) -> _Fleet:
    """The customer, vehicles and staff through the use cases (a few hundred commands)."""
    customer = workshop.register_customer(
        name="Taxi Centraal BV", email="fleet@taxi.example", phone=None, actor=ADVISOR
    ).id
    vehicle_ids = [
        workshop.register_vehicle(
            # European VW layout: no check digit, so any serial is a valid VIN.
            vin=f"WVWZZZE1ZMP{i:06d}",
            plate=f"TX-{i:04d}",
            make=None,
            model="ID.3",
            year=2021,
            battery_kwh=Decimal("58"),
            nominal_voltage_v=Decimal("400"),
            owner_id=customer,
            actor=ADVISOR,
        ).id
        for i in range(vehicles)
    ]
    staff = []
    for i in range(technicians):
        sid = workshop.hire_staff_member(
            name=f"Technician {i}", email=f"tech{i}@garage.example", role=Role.TECHNICIAN,
            actor=MANAGER,
        ).id  # fmt: skip
        workshop.record_hv_qualification(
            sid, level=3, certificate_id=f"HV-{i}", expires_on=date(2035, 1, 1), actor=MANAGER
        )
        staff.append(sid)
    return _Fleet(customer, [workshop.repository.get(v) for v in vehicle_ids], staff)


def _order(clock: ManualClock, fleet: _Fleet) -> tuple[RepairOrder, Any]:
    """The next order of the fleet: a whole lifecycle on the next vehicle in turn."""
    n = fleet.orders
    fleet.orders += 1
    vehicle = fleet.vehicles[n % len(fleet.vehicles)]
    tech = fleet.technicians[n % len(fleet.technicians)]
    tech_actor = Actor(str(tech), Role.TECHNICIAN)
    km = vehicle.odometer_km + 100
    vehicle.record_odometer(km=km, actor=ADVISOR)
    o = RepairOrder.open(
        vehicle_id=vehicle.id,
        customer_id=fleet.customer,
        concerns=["Coolant warning"],
        odometer_in_km=km,
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
    now = clock.advance(timedelta(minutes=5))
    for job in ("hv", "filter"):
        o.approve_job(
            job_id=job, channel=ApprovalChannel.PHONE, client_ip=None, at=now, actor=ADVISOR
        )
    for job in ("hv", "filter"):
        o.assign_technician(job_id=job, staff_id=tech, hv_level=3, actor=ADVISOR)
    o.isolate_hv(
        technician_id=tech, technician_hv_level=3, residual_voltage_v=Decimal("2"),
        lock_tag_id="LOTO-1", ppe_checked=True, at=now, actor=tech_actor,
    )  # fmt: skip
    for job in ("hv", "filter"):
        o.clock_on(job_id=job, technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor)
        now = clock.advance(timedelta(minutes=40))
        o.clock_off(job_id=job, technician_id=tech, at=now, actor=tech_actor)
        o.complete_job(job_id=job, actor=tech_actor)
    o.restore_hv(technician_id=tech, technician_hv_level=3, at=now, actor=tech_actor)
    o.pass_quality_check(notes=None, actor=ADVISOR)
    o.invoice(
        invoice_number=f"INV-{o.id.hex[:10]}", tax_rate=Decimal("0.21"), at=now, actor=ADVISOR
    )
    o.record_payment(
        amount=o.total, method=PaymentMethod.CARD, reference=None, at=now, actor=ADVISOR
    )
    o.release(odometer_out_km=km + 2, soc_out_pct=Decimal("68"), at=now, actor=ADVISOR)
    return o, vehicle


def _seed(workshop: Workshop, fleet: _Fleet, orders: int, progress: Progress, task: Any) -> int:
    """``orders`` more orders of the fleet, saved a hundred at a time; returns events saved."""
    clock = workshop.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the seeding needs the benchmark's manual clock")
    saved = 0
    while orders > 0:
        batch = min(orders, SAVE_EVERY)
        made = [_order(clock, fleet) for _ in range(batch)]
        touched = {id(v): v for _, v in made}
        saved += len(workshop.save(*(o for o, _ in made), *touched.values()))
        orders -= batch
        progress.advance(task, batch)
    return saved


@contextmanager
def _history(
    settings: Settings,
    size: int,
    *,
    vehicles: int,
    technicians: int,
    progress: Progress,
    label: str,
) -> Iterator[Callable[[int], dict[str, tuple[int, float, float]]]]:
    """A scratch store whose customer has ``size`` orders of history and whose read models have
    caught up with it; yields ``tail(orders)``: saves that many more orders of the customer and
    times each read model's follower catching up with them alone: (events, CPU seconds of the
    follower's thread, wall seconds) per model."""
    with scratch(settings, "fleet") as (env, _):
        workshop = bench_workshop(env)
        try:
            fleet = _register(workshop, vehicles, technicians)
            task = progress.add_task(f"{label}: {size:,} orders of history", total=size)
            _seed(workshop, fleet, size, progress, task)
            followers, store = build_followers(workshop, env, settings)
            try:
                head = followers[0].reader.max_notification_id() or 0
                task = progress.add_task(
                    f"{label} {size:,}: read models catch up", total=head * len(followers)
                )
                for follower in followers:
                    follower.check_schema()
                    follower.catch_up(lambda n: progress.advance(task, n))

                def tail(orders: int) -> dict[str, tuple[int, float, float]]:
                    quiet = progress.add_task("", total=orders, visible=False)
                    _seed(workshop, fleet, orders, progress, quiet)
                    timed = {}
                    for follower in followers:
                        # No collection of earlier garbage lands in this follower's time.
                        gc.collect(0)
                        gc.disable()
                        try:
                            wall, cpu = time.perf_counter(), time.thread_time()
                            applied = follower.catch_up()
                            cpu = time.thread_time() - cpu
                            wall = time.perf_counter() - wall
                        finally:
                            gc.enable()
                        timed[follower.name] = (applied, cpu, wall)
                    return timed

                yield tail
            finally:
                followers[0].reader.close()  # one reader shared by every follower
                store.close()
        finally:
            workshop.close()


def _measure(
    settings: Settings,
    sizes: list[int],
    *,
    vehicles: int,
    technicians: int,
    tail: int,
    rounds: int,
    progress: Progress,
    label: str,
) -> dict[int, dict[str, tuple[float, int, float]]]:
    """Per history size and read model: (best round's tail events per CPU second, tail events,
    that round's events per wall-clock second).

    Every size's store is set up first; then each round times a tail on every size in turn,
    so the shared machine's drift hits all sizes alike (as the other benchmarks interleave
    their variants), and the best round of each is the least disturbed one."""
    with ExitStack() as stack:
        tails = {}
        for size in sizes:
            history = _history(
                settings, size, vehicles=vehicles, technicians=technicians, progress=progress,
                label=label,
            )  # fmt: skip
            tails[size] = stack.enter_context(history)
        best: dict[int, dict[str, tuple[float, int, float]]] = {size: {} for size in sizes}
        task = progress.add_task(f"{label}: timed tails", total=rounds * len(sizes))
        for _ in range(rounds):
            for size, run_tail in tails.items():
                for name, (events, cpu, wall) in run_tail(tail).items():
                    rate = events / cpu if cpu else 0.0
                    if rate > best[size].get(name, (0.0, 0, 0.0))[0]:
                        best[size][name] = (rate, events, events / wall if wall else 0.0)
                progress.advance(task)
    return best


@click.command(
    "fleet",
    help="Follower events/s and time per event for one customer with 10, 1,000 and 10,000 "
    "repair orders, per read model, on SQLite and Postgres.",
)
@click.option(
    "--orders",
    "sizes",
    default="10,1000,10000",
    show_default=True,
    help="History sizes (repair orders of the one customer), comma-separated, smallest first.",
)
@click.option("--vehicles", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--technicians", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--tail",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Orders added and timed per round (21 events each).",
)
@click.option("--rounds", type=click.IntRange(min=1), default=7, show_default=True)
@click.option(
    "--postgres",
    "dsn",
    default=None,
    help="Postgres DSN to measure besides SQLite (default: REGENZET_DATABASE_URL, if set).",
)
def command(
    sizes: str, vehicles: int, technicians: int, tail: int, rounds: int, dsn: str | None
) -> None:
    try:
        history = sorted({int(s) for s in sizes.split(",") if s.strip()})
    except ValueError:
        raise click.BadParameter(
            "a comma-separated list of numbers", param_hint="--orders"
        ) from None
    if not history or history[0] < 1:
        raise click.BadParameter("at least one size, each at least 1", param_hint="--orders")
    settings = Settings.from_env()
    backends = [("sqlite", attrs.evolve(settings, database_url=None))]
    if dsn or settings.database_url:
        backends.append(
            ("postgres", attrs.evolve(settings, database_url=dsn or settings.database_url))
        )
    results: dict[str, dict[str, dict[int, tuple[float, int, float]]]] = {}
    with Progress(console=console, transient=True) as progress:
        for store, backend in backends:
            prepare_store(backend)
            measured = _measure(
                backend, history, vehicles=vehicles, technicians=technicians, tail=tail,
                rounds=rounds, progress=progress, label=store,
            )  # fmt: skip
            for size, per_size in measured.items():
                for model, figure in per_size.items():
                    results.setdefault(store, {}).setdefault(model, {})[size] = figure
    low, high = history[0], history[-1]
    table = Table(
        title=f"fleet: one customer, {vehicles} vehicles, {technicians} technicians; "
        f"best of {rounds} tails of {tail} orders",
        caption="events per CPU second (CPU µs per event), then per wall second, of each read"
        f" model's follower; ratio = {high:,} ÷ {low:,} (CPU)",
    )
    for col in ("store", "read model", *(f"{s:,} orders" for s in history), "ratio"):
        table.add_column(col)
    worst: tuple[float, str, str] | None = None
    for store, models in results.items():
        for name, figures in models.items():
            cells = [
                f"{figures[s][0]:,.0f} ({1e6 / figures[s][0]:,.0f} µs) wall {figures[s][2]:,.0f}"
                for s in history
            ]
            ratio = figures[high][0] / figures[low][0]
            table.add_row(store, name, *cells, f"{ratio:.2f}")
            if worst is None or ratio < worst[0]:
                worst = (ratio, store, name)
        table.add_section()
    Console().print(table)
    if worst is None:
        raise click.ClickException("no read model was measured")
    _, store, name = worst
    figures = results[store][name]
    emit(
        "fleet",
        figures[high][0],
        "events/s",
        figures[low][0],
        store=store,
        read_model=name,
        orders=history,
        tail_events=figures[high][1],
        basis="events per CPU second of the follower's thread, best round",
        wall_value=round(figures[high][2], 1),
        wall_anchor=round(figures[low][2], 1),
        per_model={
            s: {m: {str(k): round(v[0], 1) for k, v in f.items()} for m, f in models.items()}
            for s, models in results.items()
        },
        wall_per_model={
            s: {m: {str(k): round(v[2], 1) for k, v in f.items()} for m, f in models.items()}
            for s, models in results.items()
        },
    )
