"""The security checks fail on a broken stage: a public database, a detached WAF, an
internet-facing ALB. Each builds a fresh app, breaks one thing, and expects the check to fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk import App, aws_ec2 as ec2, aws_rds as rds
from aws_cdk.assertions import Template

from app import build, make_app

from .checks import assert_alb_internal, assert_database_private, assert_waf_attached


def _prod(mutate: Callable[[object], None] | None = None, **kwargs: object) -> Template:
    stack = build(make_app(), stages=("prod",), **kwargs)["prod"]  # type: ignore[arg-type]
    if mutate is not None:
        mutate(stack)
    return Template.from_stack(stack)


def _make_database_public(stack: object) -> None:
    db = stack.db.node.default_child  # type: ignore[attr-defined]
    assert isinstance(db, rds.CfnDBInstance)
    db.add_property_override("PubliclyAccessible", True)


def _move_database_to_public_subnets(stack: object) -> None:
    group = stack.db.node.find_child("SubnetGroup").node.default_child  # type: ignore[attr-defined]
    assert isinstance(group, rds.CfnDBSubnetGroup)
    public = stack.vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC)  # type: ignore[attr-defined]
    group.add_property_override("SubnetIds", public.subnet_ids)


def _make_alb_public(stack: object) -> None:
    stack.alb.node.default_child.add_property_override("Scheme", "internet-facing")  # type: ignore[attr-defined]


def test_a_publicly_accessible_database_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="publicly accessible"):
        assert_database_private(_prod(_make_database_public))


def test_a_database_in_public_subnets_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="not an isolated subnet"):
        assert_database_private(_prod(_move_database_to_public_subnets))


def test_a_detached_waf_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="not associated"):
        assert_waf_attached(_prod(attach_waf=False))


def test_an_internet_facing_alb_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="internet-facing"):
        assert_alb_internal(_prod(_make_alb_public))
