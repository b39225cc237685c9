"""Console helpers shared by the commands: progress bars for long CLI work (on stderr, so
stdout stays clean for --json and pipes, and only on a terminal), a command group whose
listing shows each command's whole first sentence, JSON log lines for the long-running
services, and where those services leave their heartbeat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


class CliError(click.ClickException):
    """A one-line failure (exit code 1)."""


class HelpGroup(click.Group):
    """Lists subcommands with their whole first sentence, wrapped, instead of click's default
    of cutting it at about 45 characters with "..."."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# Touched by the loop of `followers run` / `relay run` in $REGENZET_DATA_DIR; read by
# `regenzet health --heartbeat` (the containers' health check).
FOLLOWERS_HEARTBEAT = "followers.heartbeat"
RELAY_HEARTBEAT = "relay.heartbeat"


def json_logging() -> None:
    """The services log one JSON object per line (CloudWatch metric filters read them)."""
    from regenzet.entrypoints.http.problems import JsonLogFormatter

    root = logging.getLogger("regenzet")
    if not any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLogFormatter())
        root.addHandler(handler)
    root.setLevel(logging.INFO)


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


__all__ = ["FOLLOWERS_HEARTBEAT", "RELAY_HEARTBEAT", "HelpGroup", "json_logging", "progress"]
