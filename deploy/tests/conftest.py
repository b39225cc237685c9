"""Synthesises both stages once per session (jsii start-up costs seconds); each test reads the
templates with ``aws_cdk.assertions``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

DEPLOY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DEPLOY))

from app import build, make_app  # noqa: E402
from regenzet_deploy.nag import add_checks  # noqa: E402


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Both stages, synthesised with cdk-nag's AwsSolutions checks: an unacknowledged finding
    fails this fixture (and so every test)."""
    app = make_app(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    add_checks(app)
    stacks = build(app)
    app.synth()
    return stacks


@pytest.fixture(scope="session")
def templates(stacks: dict[str, object]) -> dict[str, Template]:
    return {name: Template.from_stack(stack) for name, stack in stacks.items()}  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=["dev", "prod"])
def template(request: pytest.FixtureRequest, templates: dict[str, Template]) -> Template:
    return templates[request.param]


@pytest.fixture(scope="session")
def prod(templates: dict[str, Template]) -> Template:
    return templates["prod"]


@pytest.fixture(scope="session")
def dev(templates: dict[str, Template]) -> Template:
    return templates["dev"]
