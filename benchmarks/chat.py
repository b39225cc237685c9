"""``chat``: the offline assistant's answer latency p50/p99 on the demo garage, and the loop's
overhead per tool round vs the bare read-model query its tool wraps."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
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
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import ManualClock, build_followers, workshop_for
from regenzet.entrypoints.settings import Settings

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


@click.command("chat", help="Offline assistant answer latency p50/p99; loop overhead per round.")
@click.option("--count", default=400, show_default=True, help="Questions to time.")
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds (median).")
def command(count: int, rounds: int) -> None:
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

    settings = configured_store()
    with scratch(settings, "chat") as (env, _connect):
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

    show_table(
        f"offline assistant ({'Postgres' if settings.uses_postgres else 'SQLite'})",
        ("measure", "ms"),
        [
            [
                (label, f"{figures[key]:.3f}")
                for label, key in (
                    ("answer latency p50", "p50_ms"),
                    ("answer latency p99", "p99_ms"),
                    ("one-round turn (median)", "one_round_turn_ms"),
                    ("one-round turn without the audit record", "turn_without_audit_ms"),
                    ("bare board query (median)", "bare_query_ms"),
                    ("loop overhead per tool round", "overhead_per_round_ms"),
                )
            ]
        ],
        out=console,
    )
    emit(
        "chat",
        figures["one_round_turn_ms"],
        "ms",
        figures["bare_query_ms"],
        questions=count,
        store=store_kind(settings),
        **figures,
    )


def _chat_figures(
    settings: Settings, workshop: Workshop, store: ReadModelStore, count: int, rounds: int
) -> dict[str, float]:
    from regenzet.application.chat import collect
    from regenzet.application.identity import Principal
    from regenzet.application.projections import Query
    from regenzet.entrypoints.bootstrap import chat_assistant
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
    p50, p99 = percentiles(latencies)

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
