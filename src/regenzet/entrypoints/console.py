"""Console helpers shared by the CLI's command groups: progress bars for long work (on
stderr, so stdout stays clean for --json and pipes, and only on a terminal) and a command
group whose listing shows each command's whole first sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


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


__all__ = ["HelpGroup", "progress"]
