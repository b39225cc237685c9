"""The CDK app: ``python app.py`` (or ``cdk synth``) writes one template per stage to cdk.out/.

cdk-nag's AwsSolutions checks run as part of synthesis: an unacknowledged finding fails it.
Stages: Regenzet-dev and Regenzet-prod (deploy/regenzet_deploy/config.py, overridable with
``-c regenzet:<stage>:<setting>=value``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment
from regenzet_deploy.config import STAGES
from regenzet_deploy.nag import add_checks
from regenzet_deploy.stack import RegenzetStack

DEPLOY = Path(__file__).resolve().parent
REPO_ROOT = DEPLOY.parent


def make_app(outdir: str | None = None) -> App:
    """An App with cdk.json's feature flags (the CLI passes them; ``python app.py`` and the
    tests must load them themselves, or synthesis differs from a deploy)."""
    context: dict[str, Any] = json.loads((DEPLOY / "cdk.json").read_text())["context"]
    return App(context=context, outdir=outdir or str(DEPLOY / "cdk.out"))


def build(
    app: App, *, attach_waf: bool = True, stages: tuple[str, ...] = tuple(STAGES)
) -> dict[str, RegenzetStack]:
    context = {
        key: app.node.try_get_context(key)
        for stage in STAGES
        for key in _keys(stage)
        if app.node.try_get_context(key) is not None
    }
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    stacks = {}
    for name in stages:
        default = STAGES[name]
        config = default.with_context(context)
        stacks[name] = RegenzetStack(
            app,
            f"Regenzet-{name}",
            config=config,
            repo_root=REPO_ROOT,
            attach_waf=attach_waf,
            env=Environment(account=account, region=config.region),
            description=f"ReGenZet {name}: EV garage service management (docs/deploy.md)",
        )
    return stacks


def _keys(stage: str) -> list[str]:
    from dataclasses import fields

    from regenzet_deploy.config import StageConfig

    return [f"regenzet:{stage}:{f.name}" for f in fields(StageConfig)]


def main() -> None:
    app = make_app()
    add_checks(app)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
