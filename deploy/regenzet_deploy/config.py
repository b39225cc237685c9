"""Per-stage settings of the deployment: dev is one AZ's worth of small, prod is Multi-AZ.

Values can be overridden with CDK context (``cdk deploy -c regenzet:prod:domain=…``), so a garage
deploys its own domain and model without editing code.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class StageConfig:
    name: str
    # Network: subnets always span two AZs (an RDS subnet group needs two); dev puts its
    # interface endpoints, NAT gateway and tasks in one of them.
    endpoint_azs: int
    nat_gateways: int
    # Database
    db_instance_type: str
    db_multi_az: bool
    db_storage_gb: int
    db_max_storage_gb: int
    backup_retention_days: int
    deletion_protection: bool
    # Services (Fargate, ARM64)
    api_cpu: int
    api_memory_mb: int
    api_min_tasks: int
    api_max_tasks: int
    worker_cpu: int
    worker_memory_mb: int
    log_retention_days: int
    # Edge
    throttle_rate_per_s: int
    throttle_burst: int
    waf_rate_limit_per_5min: int
    # Product
    domain: str
    mail_from: str
    web_origin: str
    bedrock_model_id: str
    alarm_email: str | None = None
    # The stack's region (ALB access logging needs a concrete one). The account stays the
    # CLI's (CDK_DEFAULT_ACCOUNT), or unresolved for offline synthesis.
    region: str = "eu-central-1"
    # Where the image comes from: None builds deploy/Dockerfile at deploy time (DockerImageAsset);
    # "repo:tag" uses an image the pipeline already pushed to ECR.
    image: str | None = None

    @property
    def prod(self) -> bool:
        return self.name == "prod"

    def with_context(self, context: dict[str, Any]) -> StageConfig:
        """Applies ``regenzet:<stage>:<field>`` context values (strings from the CLI)."""
        changes: dict[str, Any] = {}
        for field in fields(self):
            key = f"regenzet:{self.name}:{field.name}"
            if key not in context or field.name == "name":
                continue
            raw = context[key]
            current = getattr(self, field.name)
            if isinstance(current, bool):
                changes[field.name] = str(raw).lower() in {"1", "true", "yes", "on"}
            elif isinstance(current, int):
                changes[field.name] = int(raw)
            else:
                changes[field.name] = str(raw)
        return replace(self, **changes)


DEV = StageConfig(
    name="dev",
    endpoint_azs=1,
    nat_gateways=1,
    db_instance_type="t4g.micro",
    db_multi_az=False,
    db_storage_gb=20,
    db_max_storage_gb=50,
    backup_retention_days=7,
    deletion_protection=False,
    api_cpu=256,
    api_memory_mb=512,
    api_min_tasks=1,
    api_max_tasks=2,
    worker_cpu=256,
    worker_memory_mb=512,
    log_retention_days=30,
    throttle_rate_per_s=20,
    throttle_burst=40,
    waf_rate_limit_per_5min=1000,
    domain="dev.garage.example.com",
    mail_from="ReGenZet Garage <no-reply@dev.garage.example.com>",
    web_origin="https://dev.garage.example.com",
    bedrock_model_id="anthropic.claude-3-5-haiku-20241022-v1:0",
)

PROD = StageConfig(
    name="prod",
    endpoint_azs=2,
    nat_gateways=1,
    db_instance_type="t4g.small",
    db_multi_az=True,
    db_storage_gb=50,
    db_max_storage_gb=200,
    backup_retention_days=14,
    deletion_protection=True,
    api_cpu=512,
    api_memory_mb=1024,
    api_min_tasks=2,
    api_max_tasks=6,
    worker_cpu=256,
    worker_memory_mb=512,
    log_retention_days=365,
    throttle_rate_per_s=50,
    throttle_burst=100,
    waf_rate_limit_per_5min=2000,
    domain="garage.example.com",
    mail_from="ReGenZet Garage <no-reply@garage.example.com>",
    web_origin="https://garage.example.com",
    bedrock_model_id="anthropic.claude-3-5-haiku-20241022-v1:0",
)

STAGES = {"dev": DEV, "prod": PROD}
