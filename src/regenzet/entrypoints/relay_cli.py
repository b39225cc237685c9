"""``regenzet relay run [--once]``: publish integration events (SNS, or events.jsonl locally),
and what ``regenzet demo`` runs so a laptop shows the emails and events the history implies."""

from __future__ import annotations

import threading
from typing import Any

import click

from regenzet.entrypoints.composition import Composition, composition
from regenzet.entrypoints.console import RELAY_HEARTBEAT, HelpGroup, json_logging, progress


@click.group(
    cls=HelpGroup,
    help="The outbox relay: integration events to SNS (or events.jsonl locally).",
)
def relay() -> None:
    pass


@relay.command(
    "run",
    help="Publish every integration event not yet published, then keep following the log "
    "(Ctrl-C stops). --once publishes what is pending and exits.",
)
@click.option("--once", is_flag=True, help="Publish everything pending, then exit.")
def run(once: bool) -> None:
    from regenzet.entrypoints.followers import (
        FollowerRunner,
        run_until_stopped,
        stop_on_sigterm,
    )

    # --once keeps the default SIGTERM (it ends by itself); the service stops at a batch.
    stop = threading.Event() if once else stop_on_sigterm()
    boot = composition()
    settings = boot.settings
    boot.workshop  # noqa: B018 -- the store is set up (fails fast) before anything else opens
    store = boot.read_model_store()
    publisher_relay = boot.relay(store)
    target = settings.sns_topic_arn or str(settings.data_dir / "events.jsonl")
    try:
        if once:
            backlog = max(
                0, publisher_relay.reader.max_notification_id() - publisher_relay.position()
            )
            with progress("publishing", backlog) as advance:
                covered = publisher_relay.catch_up(advance)
            click.echo(
                f"published {publisher_relay.published} integration events to {target} "
                f"({covered} log events read; position {publisher_relay.position()})"
            )
            return
        runner = FollowerRunner(
            [publisher_relay],
            boot.waker(),
            heartbeat=settings.data_dir / RELAY_HEARTBEAT,
        )
        json_logging()
        run_until_stopped(runner, stop, f"relaying integration events to {target} (Ctrl-C stops)")
    finally:
        publisher_relay.reader.close()
        store.close()
        boot.close()


def deliver_locally(boot: Composition) -> list[str]:
    """After seeding the demo: decide its emails and send the due ones, and publish its
    integration events, when both go to local files (with AWS configured, the services do
    this). Returns report lines."""
    settings = boot.settings
    store = boot.read_model_store()
    lines: list[str] = []
    closables: list[Any] = [store]
    try:
        if settings.notifications_topic_arn is None and settings.smtp_host is None:
            policy, dispatcher = boot.notification_followers(store)
            closables.append(policy.reader)
            policy.check_schema()
            policy.catch_up()
            dispatcher.step_all()
            deferred = dispatcher.pending()
            lines.append(
                f"emails: {dispatcher.sent} written to {settings.data_dir / 'mail'}"
                + (f", {len(deferred)} deferred by quiet hours" if deferred else "")
            )
        if settings.sns_topic_arn is None:
            publisher_relay = boot.relay(store)
            closables.append(publisher_relay.reader)
            publisher_relay.catch_up()
            lines.append(
                f"integration events: {publisher_relay.published} appended to "
                f"{settings.data_dir / 'events.jsonl'}"
            )
    finally:
        for closable in closables:
            closable.close()
    return lines


__all__ = ["deliver_locally", "relay"]
