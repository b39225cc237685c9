"""``regenzet audit`` (history, time travel, diff, hash-chain verification, export) and
``regenzet db grant`` (append-only privileges for the application's Postgres role)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import click

from regenzet.application.audit import VerificationReport
from regenzet.application.history import AuditHistory
from regenzet.application.views import plain
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.composition import Composition, composition
from regenzet.entrypoints.console import CliError, HelpGroup, progress


@contextmanager
def _workshop() -> Iterator[tuple[Workshop, Composition]]:
    boot = composition()
    try:
        yield boot.workshop, boot
    finally:
        boot.close()


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise CliError(f"{raw!r} is not an aggregate id (a UUID)") from None


def _time(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(f"{raw!r} is not an ISO 8601 time such as 2026-11-25T09:30:00Z") from None
    if parsed.tzinfo is None:
        raise CliError(f"{raw!r} has no UTC offset (add Z or +01:00)")
    return parsed


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(plain(value), ensure_ascii=False, indent=2, sort_keys=True))


@click.group(
    cls=HelpGroup,
    help="Audit: history, state at a time or version, hash-chain verification, export.",
)
def audit() -> None:
    pass


@audit.command("history", help="An aggregate's events, or its state --at a time / --version N.")
@click.argument("aggregate_id")
@click.option("--at", "at", metavar="TIME", help="State as of this ISO 8601 time (with offset).")
@click.option("--version", "version", type=click.IntRange(min=1), help="State at this version.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def history(aggregate_id: str, at: str | None, version: int | None, as_json: bool) -> None:
    parsed = _uuid(aggregate_id)
    with _workshop() as (workshop, _):
        audit_history = AuditHistory(workshop)
        if at is None and version is None:
            entries = workshop.get_history(parsed)
            if as_json:
                _echo_json([attrs.asdict(e, recurse=False) for e in entries])
                return
            for e in entries:
                actor = f"{e.actor.role.value}:{e.actor.subject_id}" if e.actor else "-"
                click.echo(
                    f"v{e.version:<3} {e.timestamp:%Y-%m-%d %H:%M:%S}Z "
                    f"{e.aggregate_type}.{e.event_type:<28} {actor}"
                )
            return
        state = audit_history.state(
            parsed, version=version, at=_time(at) if at is not None else None
        )
        if as_json:
            _echo_json(attrs.asdict(state, recurse=False))
            return
        click.echo(
            f"{state.aggregate_type} {state.aggregate_id} at version {state.version} "
            f"(last changed {state.modified_on:%Y-%m-%d %H:%M:%S}Z)"
        )
        click.echo(json.dumps(state.state, ensure_ascii=False, indent=2, sort_keys=True))


@audit.command("log", help="The global event log in order, filtered, a page at a time.")
@click.option("--after", type=click.IntRange(min=0), default=0, help="After this notification id.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Events per page; the --after for the next page is printed on stderr.",
)
@click.option("--aggregate-type", help="e.g. RepairOrder, Vehicle, Customer, Inspection.")
@click.option("--event-type", help="e.g. Opened, JobApproved, HighVoltageIsolated.")
@click.option("--since", metavar="TIME", help="Recorded at or after (ISO 8601 with offset).")
@click.option("--until", metavar="TIME", help="Recorded before (ISO 8601 with offset).")
@click.option("--actor", help="The acting subject's id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def log(
    after: int,
    limit: int,
    aggregate_type: str | None,
    event_type: str | None,
    since: str | None,
    until: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    from regenzet.application.history import LogFilter

    where = LogFilter(
        aggregate_type=aggregate_type,
        event_type=event_type,
        since=_time(since) if since else None,
        until=_time(until) if until else None,
        actor=actor,
    )
    with _workshop() as (workshop, _):
        page = AuditHistory(workshop).log(after, limit, where)
    for e in page.items:
        if as_json:
            click.echo(json.dumps(plain(attrs.asdict(e, recurse=False)), ensure_ascii=False))
            continue
        who = f"{e.actor.role.value}:{e.actor.subject_id}" if e.actor else "-"
        click.echo(
            f"#{e.notification_id:<7} {e.timestamp:%Y-%m-%d %H:%M:%S}Z "
            f"{e.aggregate_type}.{e.event_type:<28} v{e.version:<4} {e.aggregate_id} {who}"
        )
    if page.next_after is not None:
        click.echo(f"(more: --after {page.next_after})", err=True)


@audit.command("diff", help="What changed in an aggregate between two versions.")
@click.argument("aggregate_id")
@click.argument("from_version", type=click.IntRange(min=1))
@click.argument("to_version", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def diff(aggregate_id: str, from_version: int, to_version: int, as_json: bool) -> None:
    with _workshop() as (workshop, _):
        result = AuditHistory(workshop).diff(_uuid(aggregate_id), from_version, to_version)
        if as_json:
            _echo_json(attrs.asdict(result, recurse=False))
            return
        click.echo(
            f"{result.aggregate_type} {result.aggregate_id} v{from_version} -> v{to_version}"
        )
        for e in result.events:
            click.echo(f"  event v{e.version} {e.event_type}")
        for c in result.changes:
            old = "" if c.op == "add" else f"{json.dumps(plain(c.old), ensure_ascii=False)} -> "
            new = "" if c.op == "remove" else json.dumps(plain(c.value), ensure_ascii=False)
            click.echo(f"  {c.op:<8} {c.path}: {old}{new}")


def _print_report(report: VerificationReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(attrs.asdict(report), sort_keys=True))
    else:
        click.echo(report.summary())


@audit.command(
    "verify",
    help="Recompute the hash chain from the stored events and check every signed checkpoint. "
    "Exit 0 when intact, 2 naming the first broken notification id otherwise.",
)
@click.option(
    "--from",
    "start",
    type=click.IntRange(min=1),
    help="Start at this notification id (anchored on the stored link before it).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Processes verifying ranges in parallel (default: one per CPU).",
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def verify(start: int | None, workers: int | None, as_json: bool) -> None:
    from regenzet.entrypoints.audit_verify import default_workers, verify_log

    with _workshop() as (_, boot):
        checker = boot.verifier()
        try:
            total = max(0, checker.store.head().events)
            with progress("verifying", total) as advance:
                report = verify_log(
                    checker,
                    boot.verify_opener(),
                    start=start,
                    workers=workers or default_workers(),
                    progress=advance,
                )
        finally:
            checker.store.close()
            checker.reader.close()
    _print_report(report, as_json)
    if not report.intact:
        sys.exit(2)


@audit.command(
    "checkpoint",
    help="Link every event recorded so far and seal the chain with a signed checkpoint.",
)
def checkpoint() -> None:
    with _workshop() as (_, boot):
        follower = boot.chain_follower()
        try:
            sealed = follower.checkpoint()
        finally:
            follower.store.close()
            follower.reader.close()
    if sealed is None:
        click.echo("the log is empty: nothing to seal")
    else:
        click.echo(
            f"checkpoint at notification {sealed.notification_id} ({sealed.events} events), "
            f"link {sealed.link.hex()}, signed {sealed.algorithm} key {sealed.key_id}"
        )


@audit.command("export", help="Write the linked log, checkpoints and public key as JSON lines.")
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The file to write (replaced atomically when complete).",
)
def export(output: Path) -> None:
    from regenzet.application.audit import export_lines

    with _workshop() as (workshop, boot):
        store = boot.chain_store()
        reader = boot.event_log_reader()

        def decode(rows: Any) -> list[dict[str, object]]:
            from regenzet.application.views import history_entry

            return [
                plain(attrs.asdict(history_entry(e), recurse=False))
                for e in workshop.decode_rows(rows)
            ]

        partial = output.with_name(output.name + ".partial")
        lines = 0
        try:
            with (
                progress("exporting", store.head().events) as advance,
                partial.open("w", encoding="utf-8") as out,
            ):
                for line in export_lines(
                    reader, store, boot.audit_signer(), decode, progress=advance
                ):
                    out.write(line + "\n")
                    lines += 1
            partial.replace(output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            store.close()
            reader.close()
    click.echo(f"wrote {lines} lines to {output}")


@click.group(cls=HelpGroup, help="Database administration (Postgres).")
def db() -> None:
    pass


@db.command(
    "grant",
    help="Create every table, then give ROLE INSERT and SELECT only on the event log, snapshots "
    "and audit chain (no UPDATE, DELETE or TRUNCATE) and read/write on read models and "
    "idempotency keys. Run it as the schema's owner (the migration role).",
)
@click.option("--role", "role", required=True, help="The application's database role.")
@click.option(
    "--login-password-env",
    "password_env",
    metavar="VAR",
    help="First create ROLE as a login role (or reset its password) with the password in "
    "environment variable VAR: the deploy's setup task passes the app role's secret this way.",
)
def grant(role: str, password_env: str | None) -> None:
    import os

    boot = composition()
    if not boot.settings.uses_postgres:
        raise CliError("db grant needs REGENZET_DATABASE_URL (a Postgres database)")
    password = None
    if password_env is not None:
        password = os.environ.get(password_env) or None
        if password is None:
            raise CliError(f"--login-password-env: {password_env} is unset or empty")
    # The adapters create the login role, the tables and the grants (the backend's setup).
    if password is not None:
        click.echo(boot.create_login(role, password))
    for line in boot.grant_append_only(role):
        click.echo(line)


__all__ = ["audit", "db"]
