"""Synthesises both stages once per session (jsii start-up costs seconds); each test reads the
templates with ``aws_cdk.assertions``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

DEPLOY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DEPLOY))

from app import build, make_app  # noqa: E402


@pytest.fixture(scope="session")
def stacks() -> dict[str, object]:
    return build(make_app())


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
