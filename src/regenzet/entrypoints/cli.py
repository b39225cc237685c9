"""The ``regenzet`` command line: seed demo data, show history, mint local tokens, audit, relay.

Every failure a user can cause (bad input, unreachable database, unknown id) ends in one line
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from regenzet.application.errors import ApplicationError, StoreUnavailableError
from regenzet.application.identity import (
    DEFAULT_TOKEN_TTL,
    MAX_TOKEN_TTL,
    TOKEN_ROLES,
    InvalidPrincipalError,
    Principal,
)
from regenzet.application.projections import SchemaOutdatedError
from regenzet.application.workshop import Workshop
from regenzet.domain.common import DomainError, Role
from regenzet.entrypoints.bootstrap import (
    Bootstrap,
    ManualClock,
    Overrides,
    openapi_document,
    redact_url,
    token_issuer,
)
from regenzet.entrypoints.console import (
    FOLLOWERS_HEARTBEAT,
    RELAY_HEARTBEAT,
    CliError,
    HelpGroup,
    json_logging,
)
from regenzet.entrypoints.settings import Settings, SettingsError

__all__ = ["CliError", "cli", "main"]


def _boot(clock: ManualClock | None = None) -> Bootstrap:
    """The process's composition from the environment (the store is set up when its workshop
    is first asked for)."""
    return Bootstrap(Settings.from_env(), Overrides(clock=clock))


def _workshop(boot: Bootstrap) -> Workshop:
    return boot.workshop


@click.group(cls=HelpGroup, help="ReGenZet: service management for EV repair garages.")
@click.version_option(package_name="regenzet")
@click.pass_context
def cli(ctx: click.Context) -> None:
    # Subcommands in other modules (relay, audit, db) ask this for their composition
    # (``entrypoints.composition``) instead of importing the bootstrap.
    if ctx.obj is None:
        ctx.obj = _boot


@cli.command(help="Seed a realistic EV garage through the use cases (safe to run again).")
@click.option(
    "--history",
    "history_of",
    metavar="STATUS",
    help="Afterwards, print the history of the demo repair order in this status (e.g. closed).",
)
def demo(history_of: str | None) -> None:
    from regenzet.entrypoints.demo import demo_clock_start, seed_demo

    clock = ManualClock(demo_clock_start())
    boot = _boot(clock)
    workshop = _workshop(boot)
    try:
        report = seed_demo(workshop, clock)
        for line in report.lines():
            click.echo(line)
        sealed = _seal_audit_chain(boot)
        if sealed is not None:
            click.echo(
                f"audit chain: {sealed.events} events linked and sealed at notification "
                f"{sealed.notification_id} (check with `regenzet audit verify`)"
            )
        from regenzet.entrypoints.relay_cli import deliver_locally

        for line in deliver_locally(boot):
            click.echo(line)
        if history_of is not None:
            if history_of not in report.repair_orders:
                known = ", ".join(report.repair_orders)
                raise CliError(f"no demo repair order in status {history_of!r} (have: {known})")
            order_id = report.repair_orders[history_of]
            click.echo(f"\nhistory of the {history_of} repair order {order_id}:")
            _print_history(workshop, order_id, as_json=False)
    finally:
        workshop.close()


def _seal_audit_chain(boot: Bootstrap) -> Any:
    """Links what was just written into the audit hash chain and signs a checkpoint."""
    follower = boot.chain_follower()
    try:
        return follower.checkpoint()
    finally:
        follower.store.close()
        follower.reader.close()


@cli.command(help="Print an aggregate's events: version, time, actor and data.")
@click.argument("aggregate_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
def history(aggregate_id: str, as_json: bool) -> None:
    try:
        parsed = UUID(aggregate_id)
    except ValueError:
        raise CliError(f"{aggregate_id!r} is not an aggregate id (a UUID)") from None
    workshop = _workshop(_boot())
    try:
        _print_history(workshop, parsed, as_json=as_json)
    finally:
        workshop.close()


def _print_history(workshop: Workshop, aggregate_id: UUID, *, as_json: bool) -> None:
    for e in workshop.get_history(aggregate_id):
        actor = f"{e.actor.role.value}:{e.actor.subject_id}" if e.actor else "-"
        kind = f"{e.aggregate_type}.{e.event_type}"
        if as_json:
            record = {
                "version": e.version,
                "timestamp": e.timestamp.isoformat(),
                "type": kind,
                "actor": actor,
                "data": e.data,
            }
            click.echo(json.dumps(record, sort_keys=True))
        else:
            data = json.dumps(e.data, sort_keys=True, ensure_ascii=False)
            click.echo(f"v{e.version:<3} {e.timestamp:%Y-%m-%d %H:%M:%S}Z {kind:<36} {actor}")
            click.echo(f"     {data}")


@cli.group(cls=HelpGroup, help="Bearer tokens for the API (local key pair).")
def auth() -> None:
    pass


def _uuid_option(value: str | None, option: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a UUID") from None


def _ttl_seconds(ttl: str) -> int:
    """A token lifetime from the command line: one line and exit 1 when it is unusable."""
    try:
        seconds = int(ttl)
    except ValueError:
        raise CliError(f"--ttl {ttl!r} is not a whole number of seconds") from None
    if not 1 <= seconds <= MAX_TOKEN_TTL.total_seconds():
        raise CliError(f"--ttl must be between 1 and {int(MAX_TOKEN_TTL.total_seconds())} seconds")
    return seconds


@auth.command(
    "token",
    help="Print a bearer token signed with the local key (generated in the data dir on first use).",
)
@click.option(
    "--role",
    "role_name",
    required=True,
    metavar="ROLE",
    help="customer, advisor, technician, manager or auditor.",
)
@click.option("--subject", required=True, metavar="ID", help="The token's subject (sub).")
@click.option("--customer-id", metavar="UUID", help="Required for role customer.")
@click.option("--staff-id", metavar="UUID", help="Required for technician, advisor, manager.")
@click.option(
    "--ttl",
    metavar="SECONDS",
    type=str,  # parsed below so a bad value is one line, not a usage screen
    default=str(int(DEFAULT_TOKEN_TTL.total_seconds())),
    show_default=True,
    help=f"Lifetime, at most {int(MAX_TOKEN_TTL.total_seconds())} (30 days).",
)
def auth_token(
    role_name: str, subject: str, customer_id: str | None, staff_id: str | None, ttl: str
) -> None:
    allowed = sorted(r.value for r in TOKEN_ROLES)
    try:
        role = Role(role_name)
    except ValueError:
        raise CliError(f"unknown role {role_name!r} (one of: {', '.join(allowed)})") from None
    if role not in TOKEN_ROLES:
        raise CliError(
            f"role {role_name!r} cannot be given to a token (one of: {', '.join(allowed)})"
        )
    seconds = _ttl_seconds(ttl)
    try:
        principal = Principal(
            subject=subject,
            role=role,
            customer_id=_uuid_option(customer_id, "--customer-id"),
            staff_id=_uuid_option(staff_id, "--staff-id"),
        )
    except InvalidPrincipalError as exc:
        raise CliError(str(exc)) from None
    settings = Settings.from_env()
    try:
        issuer = token_issuer(settings)
    except SettingsError:
        raise
    except (OSError, ValueError) as exc:  # unreadable, foreign or world-readable key file
        raise CliError(f"cannot use the local signing key: {exc}") from None
    click.echo(issuer.issue(principal, ttl=timedelta(seconds=seconds)))


@auth.command("demo", help="Print a token for a demo person (after `regenzet demo`).")
@click.argument("name")
@click.option(
    "--ttl",
    metavar="SECONDS",
    default=str(8 * 3600),
    show_default=True,
    help=f"Lifetime in seconds, at most {int(MAX_TOKEN_TTL.total_seconds())} (30 days).",
)
def auth_demo(name: str, ttl: str) -> None:
    from regenzet.entrypoints.demo import demo_logins

    seconds = _ttl_seconds(ttl)

    logins = demo_logins()
    if name not in logins:
        raise CliError(f"no demo person {name!r} (one of: {', '.join(logins)})")
    login = logins[name]
    principal = Principal(
        subject=login.subject,
        role=login.role,
        customer_id=login.customer_id,
        staff_id=login.staff_id,
    )
    click.echo(token_issuer(Settings.from_env()).issue(principal, ttl=timedelta(seconds=seconds)))


@cli.command(help="Serve the HTTP API with uvicorn (OpenAPI docs at /schema).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--demo",
    "seed",
    is_flag=True,
    help="Seed the demo garage first (safe to repeat) and print how to get tokens.",
)
def serve(host: str, port: int, seed: bool) -> None:
    import signal

    import uvicorn

    settings = Settings.from_env()
    if seed:
        _seed_demo_quietly()
    app = Bootstrap(settings).http_app()
    json_logging()
    base = f"http://{host}:{port}"
    click.echo(f"ReGenZet API on {base}  (store: {_store_name(settings)})")
    click.echo(f"  API docs:  {base}/schema   (Swagger UI: {base}/schema/swagger)")
    click.echo(f"  OpenAPI:   {base}/schema/openapi.json")
    if settings.notifications_topic_arn is None and settings.smtp_host is None:
        click.echo(f"  Emails:    {settings.data_dir / 'mail'}/*.eml")
    if settings.sns_topic_arn is None:
        click.echo(f"  Events:    {settings.data_dir / 'events.jsonl'} (integration events)")
    if seed:
        from regenzet.entrypoints.demo import demo_logins

        prog = _prog()
        click.echo("  Tokens for the demo people (valid 8 h):")
        for login in demo_logins().values():
            click.echo(f"    {prog} auth demo {login.name:<9} # {login.role.value}")
        click.echo(
            f'  e.g.  curl -H "Authorization: Bearer $({prog} auth demo eva)" {base}/api/v1/me'
        )
    # On SIGTERM uvicorn stops accepting, finishes the requests in flight, runs the shutdown
    # hooks, then re-raises the signal it caught. Handled by this no-op, that re-raise ends the
    # process with 0 (a clean stop, as ECS expects) instead of dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def _prog() -> str:
    """How the user invoked us (``.venv/bin/regenzet`` from scripts/run), for copy-paste."""
    argv0 = sys.argv[0]
    if os.path.basename(argv0) != "regenzet":
        return "regenzet"
    relative = os.path.relpath(argv0)
    return argv0 if relative.startswith("..") else relative


def _store_name(settings: Settings) -> str:
    if settings.database_url is None:
        return f"SQLite {settings.sqlite_path}"
    return f"Postgres {redact_url(settings.database_url)}"


def _seed_demo_quietly() -> None:
    from regenzet.entrypoints.demo import demo_clock_start, seed_demo

    clock = ManualClock(demo_clock_start())
    boot = _boot(clock)
    workshop = _workshop(boot)
    try:
        report = seed_demo(workshop, clock)
        click.echo(report.lines()[0])
        _seal_audit_chain(boot)
        from regenzet.entrypoints.relay_cli import deliver_locally

        deliver_locally(boot)
    finally:
        workshop.close()


@cli.group(cls=HelpGroup, help="Read models: where each follower is, and rebuilding them.")
def projections() -> None:
    pass


@projections.command("status", help="Position, head of the log and lag of every read model.")
def projections_status() -> None:
    boot = _boot()
    workshop = _workshop(boot)
    followers, store = boot.build_followers()
    try:
        head = (followers[0].reader.max_notification_id() if followers else 0) or 0
        rows = []
        for follower in followers:
            position, version = store.status(follower.name)
            shown = "-" if version is None else str(version)
            if version is not None and version != follower.projection.version:
                shown += f"!={follower.projection.version}"
            rows.append((follower.name, shown, str(position), str(head), str(head - position)))
        _print_table(("read model", "schema", "position", "head", "lag"), rows)
    finally:
        if followers:
            followers[0].reader.close()  # one reader shared by every follower
        store.close()
        workshop.close()


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Columns as wide as their longest cell: the first left-aligned, numbers right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        click.echo("  ".join(cells).rstrip())


@projections.command("rebuild", help="Empty read models and replay the whole log into them.")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Events per transaction.",
)
@click.option(
    "--outdated",
    is_flag=True,
    help="Only the read models whose stored schema version is not the code's (what "
    "`serve` refuses to start with); none is no error.",
)
def projections_rebuild(names: tuple[str, ...], batch: int, outdated: bool) -> None:
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    boot = _boot()
    workshop = _workshop(boot)
    followers, store = boot.build_followers()
    try:
        known = {f.name: f for f in followers}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CliError(f"no read model {unknown[0]!r} (have: {', '.join(known)})")
        chosen = [known[n] for n in names] if names else followers
        if outdated:
            chosen = [
                f for f in chosen if store.status(f.name)[1] not in (None, f.projection.version)
            ]
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            "{task.completed:,}/{task.total:,} events",
            TimeRemainingColumn(),
            transient=False,
        ) as progress:
            for follower in chosen:
                follower.batch = batch
                head = follower.reader.max_notification_id()
                task = progress.add_task(follower.name, total=head)

                def advance(n: int, task: Any = task) -> None:
                    progress.advance(task, n)

                # Replays up to the head, then catches up with whatever the API wrote meanwhile.
                follower.rebuild(advance)
                progress.update(task, total=max(head, follower.position()))
        for follower in chosen:
            click.echo(f"{follower.name}: rebuilt up to position {follower.position()}")
    finally:
        if followers:
            followers[0].reader.close()  # one reader shared by every follower
        store.close()
        workshop.close()


@cli.group(
    cls=HelpGroup,
    help="Followers of the event log: the read models, the audit hash chain, the email policy "
    "and (locally) the outbox relay. `followers run` keeps them all caught up.",
)
def followers() -> None:
    pass


@followers.command(
    "run",
    help="Keep every read model caught up until stopped (Ctrl-C or SIGTERM: the batch in "
    "flight commits, then it exits 0).",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Events per transaction (default: each follower's own, 500 for read models).",
)
def followers_run(batch: int | None) -> None:
    from regenzet.entrypoints.followers import run_until_stopped, stop_on_sigterm

    stop = stop_on_sigterm()
    boot = _boot()
    settings = boot.settings
    workshop = _workshop(boot)
    runner = boot.runner(batch=batch)
    runner.heartbeat = settings.data_dir / FOLLOWERS_HEARTBEAT
    json_logging()
    names = ", ".join(f.name for f in runner.followers)
    try:
        run_until_stopped(runner, stop, f"following {names} (Ctrl-C stops)")
    finally:
        workshop.close()


@cli.command(
    help="Container health check: exit 0 when the API answers --url, or when the --heartbeat "
    "file of `followers run` / `relay run` was touched within --max-age seconds; else 1."
)
@click.option("--url", metavar="URL", help="e.g. http://127.0.0.1:8000/health")
@click.option(
    "--heartbeat",
    metavar="FILE",
    help=f"e.g. $REGENZET_DATA_DIR/{FOLLOWERS_HEARTBEAT} or $REGENZET_DATA_DIR/{RELAY_HEARTBEAT}",
)
@click.option("--max-age", type=click.FloatRange(min=1), default=60.0, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=3.0, show_default=True)
def health(url: str | None, heartbeat: str | None, max_age: float, timeout: float) -> None:
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    if (url is None) == (heartbeat is None):
        raise CliError("give exactly one of --url or --heartbeat")
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise CliError("--url must be an http(s):// URL")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked above)
                status = response.status
        except (urllib.error.URLError, OSError) as exc:
            raise CliError(f"unhealthy: {url}: {exc}") from None
        if status != 200:
            raise CliError(f"unhealthy: {url} answered {status}")
        click.echo(f"healthy: {url} answered {status}")
        return
    try:
        age = time.time() - Path(str(heartbeat)).stat().st_mtime
    except OSError as exc:
        raise CliError(f"unhealthy: no heartbeat: {exc}") from None
    if age > max_age:
        raise CliError(f"unhealthy: heartbeat {heartbeat} is {age:.0f} s old (max {max_age:.0f})")
    click.echo(f"healthy: heartbeat {age:.1f} s old")


@cli.command(
    "openapi",
    help="Write the API's OpenAPI document (no server or database needed; the web app's "
    "client types are generated from it).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="File to write (default: stdout).",
)
def openapi(output: Path | None) -> None:
    text = json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@cli.group(cls=HelpGroup, help="Inspection photos and videos in media storage.")
def media() -> None:
    pass


@media.command(
    "sweep",
    help="Delete uploads never confirmed (under pending/) older than N hours "
    "(default REGENZET_MEDIA_PENDING_HOURS, 24). In S3 a lifecycle rule does the same.",
)
@click.option(
    "--older-than-hours",
    type=click.IntRange(min=1),
    default=None,
    help="Age in hours (default: REGENZET_MEDIA_PENDING_HOURS).",
)
def media_sweep(older_than_hours: int | None) -> None:
    from datetime import UTC, datetime

    from regenzet.application.media import sweep_pending

    boot = _boot()
    hours = older_than_hours or boot.settings.media.pending_hours
    swept = sweep_pending(boot.media_storage, datetime.now(UTC), timedelta(hours=hours))
    for key in swept:
        click.echo(f"  {key}")
    click.echo(f"media sweep: deleted {len(swept)} unconfirmed upload(s) older than {hours} h")


def _register_optional_commands() -> None:
    from regenzet.entrypoints.audit_cli import audit, db
    from regenzet.entrypoints.relay_cli import relay

    cli.add_command(relay)
    cli.add_command(audit)
    cli.add_command(db)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps every expected failure to one line on stderr."""
    _register_optional_commands()
    run_group(cli, argv, prog_name="regenzet")


def run_group(group: click.Group, argv: list[str] | None, *, prog_name: str) -> None:
    """Runs a click group, mapping every expected failure to one line on stderr (also what
    ``scripts/bench`` runs its group with)."""
    try:
        group.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except StoreUnavailableError as exc:  # before ApplicationError, its base
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        click.echo(f"error: database unavailable: {first_line}", err=True)
        sys.exit(3)
    except (DomainError, ApplicationError, SettingsError, SchemaOutdatedError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
