"""What matters about each stage, asserted on the synthesised templates."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from .checks import (
    assert_alb_internal,
    assert_database_private,
    assert_waf_attached,
    only,
    resources,
)


def test_the_database_is_private_encrypted_and_forces_tls(template: Template) -> None:
    assert_database_private(template)


def test_the_database_keeps_backups_and_prod_is_multi_az_and_protected(
    dev: Template, prod: Template
) -> None:
    _, dev_db = only(dev, "AWS::RDS::DBInstance")
    _, prod_db = only(prod, "AWS::RDS::DBInstance")
    assert dev_db["Properties"]["MultiAZ"] is False
    assert prod_db["Properties"]["MultiAZ"] is True
    assert prod_db["Properties"]["DeletionProtection"] is True
    assert prod_db["DeletionPolicy"] == "Snapshot"
    for db in (dev_db, prod_db):
        # Automated backups are what point-in-time restore replays from.
        assert db["Properties"]["BackupRetentionPeriod"] >= 7


def test_database_secrets_are_encrypted_and_rotated(template: Template) -> None:
    secrets = resources(template, "AWS::SecretsManager::Secret")
    for logical_id, secret in secrets.items():
        assert "KmsKeyId" in secret["Properties"], f"{logical_id} uses the default key"
    schedules = resources(template, "AWS::SecretsManager::RotationSchedule")
    assert len(schedules) == 2  # the owner's and the app role's
    for schedule in schedules.values():
        rules = schedule["Properties"]["RotationRules"]
        assert rules["ScheduleExpression"] == "rate(30 days)"


def test_the_alb_is_internal_and_only_the_vpc_link_reaches_it(template: Template) -> None:
    assert_alb_internal(template)
    for group in resources(template, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", f"open ingress: {rule}"
            assert rule.get("CidrIpv6") != "::/0", f"open ingress: {rule}"
    for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") != "0.0.0.0/0"


def test_the_waf_is_attached_to_the_rest_api_stage(template: Template) -> None:
    assert_waf_attached(template)


def test_the_api_goes_through_the_vpc_link_with_cognito_and_throttling(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "ANY",
            "AuthorizationType": "COGNITO_USER_POOLS",
            "Integration": Match.object_like(
                {
                    "Type": "HTTP_PROXY",
                    "ConnectionType": "VPC_LINK",
                    "ConnectionId": Match.any_value(),
                    "IntegrationTarget": Match.any_value(),
                }
            ),
        },
    )
    methods = resources(template, "AWS::ApiGateway::Method")
    open_methods = [
        m
        for m in methods.values()
        if m["Properties"]["AuthorizationType"] == "NONE"
        and m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    # Only the emailed quote-approval links (their own signed token) are open at the gateway.
    assert len(open_methods) == 1
    assert "QuoteApproval" in json.dumps(open_methods[0]["Properties"]["ResourceId"]).replace(
        "quoteapproval", "QuoteApproval"
    )
    _, stage = only(template, "AWS::ApiGateway::Stage")
    settings = stage["Properties"]["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert "AccessLogSetting" in stage["Properties"]
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {"Throttle": Match.object_like({"RateLimit": 10}), "Quota": Match.object_like({})},
    )


def test_the_media_bucket_is_kms_encrypted_private_and_tls_only(template: Template) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    media_id = next(k for k in buckets if k.startswith("Media"))
    media = buckets[media_id]["Properties"]
    sse = media["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert media["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rules = {r["Id"]: r for r in media["LifecycleConfiguration"]["Rules"]}
    assert rules["abandoned-uploads"]["Prefix"] == "pending/"
    assert media["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"]
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        ), "a bucket accepts plain HTTP"


def _role_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if f'"{role_prefix}' in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements, f"no policy for {role_prefix}"
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_no_policy_allows_every_action(template: Template) -> None:
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert "*" not in _actions(statement), f"{logical_id} allows every action"


def test_each_service_may_publish_only_to_its_own_topic(template: Template) -> None:
    relay = [
        s for s in _role_statements(template, "RelayTaskTaskRole") if "sns:Publish" in _actions(s)
    ]
    followers = [
        s
        for s in _role_statements(template, "FollowersTaskTaskRole")
        if "sns:Publish" in _actions(s)
    ]
    assert len(relay) == 1 and relay[0]["Resource"]["Ref"].startswith("DomainEvents")
    assert len(followers) == 1 and followers[0]["Resource"]["Ref"].startswith("Notifications")
    api = _role_statements(template, "ApiTaskTaskRole")
    assert not [s for s in api if "sns:Publish" in _actions(s)], "the API may publish"


def test_bedrock_is_scoped_to_the_configured_model(template: Template) -> None:
    bedrock = [
        s
        for s in _role_statements(template, "ApiTaskTaskRole")
        if any(a.startswith("bedrock:") for a in _actions(s))
    ]
    assert len(bedrock) == 1
    resource = json.dumps(bedrock[0]["Resource"])
    assert "foundation-model/anthropic.claude" in resource and "*" not in resource


def test_the_email_function_sends_only_as_the_configured_sender(template: Template) -> None:
    ses = [
        s
        for s in _role_statements(template, "EmailFunctionServiceRole")
        if "ses:SendEmail" in _actions(s)
    ]
    assert len(ses) == 1
    assert ses[0]["Condition"]["StringEquals"]["ses:FromAddress"].startswith("no-reply@")
    assert "*" not in json.dumps(ses[0]["Resource"])


def test_media_writes_are_limited_to_uploads_derived_images_and_copied_originals(
    template: Template,
) -> None:
    """The browser's presigned POST names one exact key (the policy); the role itself may put
    only under pending/ (uploads), the preview and thumbnail names under media/, and an
    original under media/ only as a copy of an upload in pending/; it deletes only under
    pending/: confirmed evidence is never deleted or written over with the API's own bytes."""
    statements = _role_statements(template, "ApiTaskTaskRole")
    puts = [s for s in statements if any(a.startswith("s3:PutObject") for a in _actions(s))]
    assert puts
    resources_put = []
    for statement in puts:
        resource = json.dumps(statement["Resource"])
        resources_put.append(resource)
        assert not resource.endswith('/media/*"]]}'), f"puts anything under media/: {resource}"
        if "/original" in resource:
            copy_source = json.dumps(statement["Condition"]["StringLike"]["s3:x-amz-copy-source"])
            assert "/pending/*" in copy_source
        else:
            assert any(
                name in resource for name in ("/pending/*", "/preview.webp", "/thumbnail.webp")
            ), resource
    joined = " ".join(resources_put)
    for name in ("/pending/*", "/media/*/preview.webp", "/media/*/thumbnail.webp", "/original"):
        assert name in joined, name
    deletes = [s for s in statements if any(a.startswith("s3:Delete") for a in _actions(s))]
    assert deletes and all("/pending/*" in json.dumps(s["Resource"]) for s in deletes)
    assert not any("media/" in json.dumps(s["Resource"]) for s in deletes)
    # ListBucket, so that a key not uploaded yet answers 404 (not 403) to HeadObject.
    assert any("s3:ListBucket" in _actions(s) for s in statements)


def test_a_deleted_upload_does_not_linger_as_an_old_version(template: Template) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    media = buckets[next(k for k in buckets if k.startswith("Media"))]["Properties"]
    rules = {r["Id"]: r for r in media["LifecycleConfiguration"]["Rules"]}
    deleted = rules["deleted-uploads"]
    assert deleted["Prefix"] == "pending/"
    assert deleted["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert deleted["ExpiredObjectDeleteMarker"] is True


def test_everything_at_rest_is_encrypted(template: Template) -> None:
    for topic in resources(template, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    for queue in resources(template, "AWS::SQS::Queue").values():
        assert "KmsMasterKeyId" in queue["Properties"]
    for group in resources(template, "AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in group["Properties"]
    _, table = only(template, "AWS::DynamoDB::GlobalTable")
    assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
