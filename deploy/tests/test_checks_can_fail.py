"""The security checks fail on a broken stage: a public database, a database in public
subnets, a detached WAF, an internet-facing ALB. Each check runs on a prod stack broken on
purpose (two builds, so the suite stays quick) and must fail naming what is wrong."""

from __future__ import annotations

import pytest
from app import build, make_app
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Template

from .checks import assert_alb_internal, assert_database_private, assert_waf_attached


@pytest.fixture(scope="module")
def exposed() -> Template:
    """A public database, an internet-facing ALB and no WAF association."""
    stack = build(make_app(), stages=("prod",), attach_waf=False)["prod"]
    db = stack.db.node.default_child
    assert isinstance(db, rds.CfnDBInstance)
    db.add_property_override("PubliclyAccessible", True)
    stack.alb.node.default_child.add_property_override("Scheme", "internet-facing")  # type: ignore[union-attr]
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def misplaced() -> Template:
    """The database's subnet group moved to the public subnets."""
    stack = build(make_app(), stages=("prod",))["prod"]
    group = stack.db.node.find_child("SubnetGroup").node.default_child
    assert isinstance(group, rds.CfnDBSubnetGroup)
    public = stack.vpc.select_subnets(subnet_type=ec2.SubnetType.PUBLIC)
    group.add_property_override("SubnetIds", public.subnet_ids)
    return Template.from_stack(stack)


def test_a_publicly_accessible_database_fails_the_check(exposed: Template) -> None:
    with pytest.raises(AssertionError, match="publicly accessible"):
        assert_database_private(exposed)


def test_a_database_in_public_subnets_fails_the_check(misplaced: Template) -> None:
    with pytest.raises(AssertionError, match="not an isolated subnet"):
        assert_database_private(misplaced)


def test_a_detached_waf_fails_the_check(exposed: Template) -> None:
    with pytest.raises(AssertionError, match="not associated"):
        assert_waf_attached(exposed)


def test_an_internet_facing_alb_fails_the_check(exposed: Template) -> None:
    with pytest.raises(AssertionError, match="internet-facing"):
        assert_alb_internal(exposed)
