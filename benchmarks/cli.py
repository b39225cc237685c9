"""The ``bench`` command group: one command per benchmark module."""

from __future__ import annotations

import click

from benchmarks import (
    append,
    chat,
    fleet,
    http_api,
    media_confirm,
    media_upload,
    projections,
    replay,
    search,
    verify,
)
from regenzet.entrypoints.cli import run_group
from regenzet.entrypoints.console import HelpGroup


@click.group(cls=HelpGroup, help="Benchmarks on the configured store; the last line is JSON.")
def bench() -> None:
    pass


for _module in (
    append,
    replay,
    verify,
    http_api,
    projections,
    search,
    chat,
    fleet,
    media_upload,
    media_confirm,
):
    bench.add_command(_module.command)


def main(argv: list[str] | None = None) -> None:
    """Like the product's CLI: every expected failure is one line on stderr, no traceback."""
    run_group(bench, argv, prog_name="scripts/bench")
