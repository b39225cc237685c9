"""The image runs as three services by command, each with its own health check, as a non-root
user on a read-only root file system; the API does not run the followers in production."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from .checks import resources


def _containers(template: Template) -> dict[str, dict[str, Any]]:
    found = {}
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            found[container["Name"]] = {**container, "_task": task["Properties"]}
    return found


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def test_one_image_three_services_by_command(template: Template) -> None:
    containers = _containers(template)
    assert containers["Api"]["Command"] == [
        "regenzet",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert containers["Followers"]["Command"] == ["regenzet", "followers", "run"]
    assert containers["Relay"]["Command"] == ["regenzet", "relay", "run"]
    images = {str(c["Image"]) for name, c in containers.items()}
    assert len(images) == 1, "the services should run one image"
    services = resources(template, "AWS::ECS::Service")
    assert len(services) == 3


def test_each_service_has_its_health_check(template: Template) -> None:
    containers = _containers(template)
    assert containers["Api"]["HealthCheck"]["Command"] == [
        "CMD",
        "regenzet",
        "health",
        "--url",
        "http://127.0.0.1:8000/health",
    ]
    for name, beat in (("Followers", "followers.heartbeat"), ("Relay", "relay.heartbeat")):
        command = containers[name]["HealthCheck"]["Command"]
        assert command[:4] == ["CMD", "regenzet", "health", "--heartbeat"]
        assert command[4] == f"/var/lib/regenzet/{beat}"


def test_containers_run_unprivileged_with_time_to_stop_cleanly(template: Template) -> None:
    for name, container in _containers(template).items():
        assert container["User"] == "10001:10001", name
        assert container["ReadonlyRootFilesystem"] is True, name
        # uvicorn drains in-flight requests, followers commit their batch: both need time
        # before SIGKILL.
        assert container["StopTimeout"] >= 30, name
        assert container["_task"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


def test_the_api_leaves_following_to_the_followers_service(template: Template) -> None:
    containers = _containers(template)
    assert _env(containers["Api"])["REGENZET_FOLLOWERS_IN_PROCESS"] == "off"
    assert "REGENZET_FOLLOWERS_IN_PROCESS" not in _env(containers["Followers"])
    # With the SNS topic set, the followers service does not also run a local-file relay.
    assert "REGENZET_SNS_TOPIC_ARN" in _env(containers["Followers"])


def test_passwords_come_from_secrets_never_plain_environment(template: Template) -> None:
    for name, container in _containers(template).items():
        env = _env(container)
        assert "REGENZET_DATABASE_PASSWORD" not in env, name
        assert (
            "@" in str(env["REGENZET_DATABASE_URL"])
            and ":" not in str(env["REGENZET_DATABASE_URL"]).split("//")[1].split("@")[0]
        ), f"{name}: a password in the URL"
        secrets = {s["Name"] for s in container.get("Secrets", [])}
        assert "REGENZET_DATABASE_PASSWORD" in secrets, name
        assert env["PGSSLMODE"] == "require", name


def test_the_setup_task_runs_db_grant_as_the_owner(template: Template) -> None:
    setup = _containers(template)["Setup"]
    assert setup["Command"][:5] == ["regenzet", "db", "grant", "--role", "regenzet_app"]
    assert "regenzet_owner@" in str(_env(setup)["REGENZET_DATABASE_URL"])
    assert {"REGENZET_DATABASE_PASSWORD", "REGENZET_APP_DB_PASSWORD"} <= {
        s["Name"] for s in setup["Secrets"]
    }


def test_deployments_roll_back_and_the_api_scales(template: Template) -> None:
    for service in resources(template, "AWS::ECS::Service").values():
        config = service["Properties"]["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert (
            service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"]
            == "DISABLED"
        )
    targets = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert len(targets) == 1


def test_alarms_cover_errors_lag_backlog_dlq_and_the_database(template: Template) -> None:
    alarms = set(resources(template, "AWS::CloudWatch::Alarm"))
    for prefix in (
        "Api5xxAlarm",
        "ApiTargets5xxAlarm",
        "FollowerLagAlarm",
        "RelayBacklogAlarm",
        "EmailDlqAlarm",
        "DbCpuAlarm",
        "DbStorageAlarm",
    ):
        assert any(a.startswith(prefix) for a in alarms), prefix
    filters = resources(template, "AWS::Logs::MetricFilter")
    assert {f["Properties"]["FilterPattern"] for f in filters.values()} == {
        '{ $.event = "followers.lag" }'
    }
    assert resources(template, "AWS::CloudWatch::Dashboard")


def test_the_web_app_has_the_spa_rewrite(template: Template) -> None:
    apps = list(resources(template, "AWS::Amplify::App").values())
    assert len(apps) == 1
    rules = apps[0]["Properties"]["CustomRules"]
    assert any(r["Target"] == "/index.html" and r["Status"] == "200" for r in rules)


def test_cognito_has_the_five_roles_and_a_pkce_web_client(template: Template) -> None:
    groups = {
        g["Properties"]["GroupName"]
        for g in resources(template, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"customer", "advisor", "technician", "manager", "auditor"}
    clients = list(resources(template, "AWS::Cognito::UserPoolClient").values())
    assert len(clients) == 1
    client = clients[0]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]


def test_the_network_has_isolated_data_subnets_acls_and_endpoints(template: Template) -> None:
    endpoints = resources(template, "AWS::EC2::VPCEndpoint")
    names = {str(e["Properties"]["ServiceName"]) for e in endpoints.values()}
    for service in (
        "ecr.api",
        "ecr.dkr",
        "logs",
        "secretsmanager",
        "sns",
        "kms",
        "bedrock-runtime",
        "s3",
    ):
        assert any(service in n for n in names), service
    entries = resources(template, "AWS::EC2::NetworkAclEntry")
    ingress = [e for e in entries.values() if not e["Properties"].get("Egress")]
    assert ingress and all(
        e["Properties"]["PortRange"] == {"From": 5432, "To": 5432} for e in ingress
    )


def test_the_api_keeps_media_in_the_bucket_encrypted_with_the_stack_key(
    template: Template,
) -> None:
    env = _env(_containers(template)["Api"])
    assert env["REGENZET_MEDIA_BACKEND"] == "s3"  # the local disk is read-only in a container
    assert "REGENZET_MEDIA_BUCKET" in env
    assert "REGENZET_MEDIA_KMS_KEY_ID" in env  # the settings refuse s3 without it
