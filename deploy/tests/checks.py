"""The security properties every stage must have, as functions over a synthesised template.

The tests run them on the real stages, and on deliberately broken copies (a public database, a
detached WAF) to prove each check can fail.
"""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def assert_database_private(template: Template) -> None:
    """Not publicly accessible, in the isolated subnets only, encrypted, TLS forced."""
    _, db = only(template, "AWS::RDS::DBInstance")
    props = db["Properties"]
    assert props.get("PubliclyAccessible") is False, "the database is publicly accessible"
    assert props.get("StorageEncrypted") is True
    assert "KmsKeyId" in props
    _, group = only(template, "AWS::RDS::DBSubnetGroup")
    subnets = group["Properties"]["SubnetIds"]
    isolated = {
        logical_id
        for logical_id, subnet in resources(template, "AWS::EC2::Subnet").items()
        if _tag(subnet, "aws-cdk:subnet-type") == "Isolated"
    }
    assert subnets, "the database has no subnets"
    for ref in subnets:
        assert ref.get("Ref") in isolated, f"database subnet {ref} is not an isolated subnet"
    template.has_resource_properties(
        "AWS::RDS::DBParameterGroup", {"Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )


def assert_waf_attached(template: Template) -> None:
    """A web ACL with the managed rule groups and a rate rule, associated with the API stage."""
    acl_id, acl = only(template, "AWS::WAFv2::WebACL")
    rules = acl["Properties"]["Rules"]
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= managed
    assert any("RateBasedStatement" in r["Statement"] for r in rules), "no rate rule"
    associations = resources(template, "AWS::WAFv2::WebACLAssociation")
    stages = resources(template, "AWS::ApiGateway::Stage")
    attached = [
        a
        for a in associations.values()
        if a["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
        and any(stage_id in str(a["Properties"]["ResourceArn"]) for stage_id in stages)
    ]
    assert attached, "the WAF is not associated with the API Gateway stage"


def assert_alb_internal(template: Template) -> None:
    _, alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internal", "the ALB is internet-facing"


def _tag(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Properties", {}).get("Tags", []):
        if tag.get("Key") == key:
            return str(tag.get("Value"))
    return None
