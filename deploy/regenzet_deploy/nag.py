"""The reviewed findings of the security gates, each with its reason: cdk-nag (AwsSolutions)
acknowledgments and checkov skips.

cdk-nag 3 runs as a policy-validation plugin, ``Validations.of(app).add_plugins(...)``; an
unacknowledged finding makes ``app.synth()`` fail (and writes cdk.out/validation-report.json).
Findings are acknowledged on the construct they are about (:func:`ack`), or here for the whole
stack when they recur on constructs CDK generates; never by turning a rule pack off.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def ack(construct: IConstruct, *findings: tuple[str, str]) -> None:
    """Acknowledges (rule id, reason) pairs on one construct and its children."""
    Validations.of(construct).acknowledge(
        *[Acknowledgment(id=rule, reason=reason) for rule, reason in findings]
    )


# Recurring findings, acknowledged for every stage.
STACK_FINDINGS: list[tuple[str, str]] = [
    (
        "AwsSolutions-EC23",
        "cdk-nag cannot evaluate the VPC CIDR token in the interface endpoints' security "
        "groups; they allow 443 from the VPC's own CIDR only (the tests check no group is "
        "open to 0.0.0.0/0).",
    ),
    (
        "AwsSolutions-VPC3",
        "Informational: the data subnets' NACL is deliberate (Postgres from the app subnets "
        "only, defence in depth beside the security groups).",
    ),
    (
        "AwsSolutions-RDS11",
        "The default port is kept: the database sits in isolated subnets reachable only from "
        "the app subnets (NACL) and the services' security groups; a different port adds no "
        "protection there.",
    ),
    (
        "AwsSolutions-ECS2",
        "The task definitions' environment holds only non-secret configuration (endpoints, "
        "ARNs, names); passwords and the link secret come from Secrets Manager as ECS secrets.",
    ),
    (
        "AwsSolutions-COG2",
        "MFA is optional: vehicle owners sign in rarely to approve work and would be locked out "
        "by a mandatory second factor; staff enrol TOTP (docs/deploy.md, first run), and the "
        "pool's threat protection is enforced.",
    ),
    (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-level logging role: the AWS-managed policy is the documented "
        "one and only allows writing API Gateway's own logs.",
    ),
    (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonRDSEnhancedMonitoringRole]",
        "The enhanced-monitoring role for RDS: the AWS-managed policy only writes the "
        "RDSOSMetrics log group.",
    ),
]

# Findings accepted in dev only (prod has the protection).
DEV_FINDINGS: list[tuple[str, str]] = [
    ("AwsSolutions-RDS3", "dev runs a single-AZ database to halve its cost; prod is Multi-AZ."),
    (
        "AwsSolutions-RDS10",
        "dev can be torn down with `cdk destroy` (a final snapshot is still taken); prod has "
        "deletion protection.",
    ),
]


def acknowledge(stack: Stack, *, prod: bool) -> None:
    ack(stack, *STACK_FINDINGS, *([] if prod else DEV_FINDINGS))


def checkov_skip(construct: IConstruct, *skips: tuple[str, str]) -> None:
    """Records reviewed checkov skips (check id, reason) in the resource's template metadata,
    where checkov reads them: they apply to that resource only, never to the whole scan."""
    cfn = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(cfn, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    entry = cfn.get_metadata("checkov") or {"skip": []}
    entry["skip"] = [*entry["skip"], *[{"id": i, "comment": reason} for i, reason in skips]]
    cfn.add_metadata("checkov", entry)


def skip_generated_providers(stack: Stack) -> None:
    """CDK's own custom-resource provider Lambdas (e.g. the one that empties the default
    security group) run for seconds during a deployment only."""
    for construct in stack.node.find_all():
        if (
            isinstance(construct, CfnResource)
            and construct.cfn_resource_type == "AWS::Lambda::Function"
            and "CustomResourceProvider" in construct.node.path
        ):
            checkov_skip(
                construct,
                ("CKV_AWS_115", "CDK's deploy-time provider: invoked by CloudFormation only."),
                ("CKV_AWS_116", "CDK's deploy-time provider: CloudFormation reports failures."),
                ("CKV_AWS_117", "CDK's deploy-time provider: calls only the EC2 API."),
            )
