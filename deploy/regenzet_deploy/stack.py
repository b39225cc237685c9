"""One ReGenZet stage on AWS: network, database, services, edge, messaging, identity, web app
and alarms. docs/deploy.md walks through it; ADR 0018–0020 record the choices.

Every resource a service may touch is named in its policy (the tests check it), every store is
encrypted with the stage's key, and nothing but API Gateway (behind WAF) and the web app's
hosting is reachable from the internet.
"""

from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path

from aws_cdk import (
    Aws,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from regenzet_deploy.config import StageConfig
from regenzet_deploy.nag import ack, acknowledge, checkov_skip, skip_generated_providers

APP_DB_USER = "regenzet_app"
OWNER_DB_USER = "regenzet_owner"
DB_NAME = "regenzet"
API_PORT = 8000
DATA_DIR = "/var/lib/regenzet"
ROLES = ("customer", "advisor", "technician", "manager", "auditor")
METRICS_NAMESPACE = "ReGenZet"
# What each service runs and how it is health-checked (shared with the wheel acceptance test).
SERVICES = json.loads((Path(__file__).resolve().parent.parent / "services.json").read_text())


class RegenzetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        repo_root: Path,
        attach_waf: bool = True,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.repo_root = repo_root
        self.key = kms.Key(
            self,
            "Key",
            description=f"ReGenZet {config.name}: database, media, topics, queues, logs, secrets",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._allow_logs_to_use_key()
        self._network()
        self._database()
        self._messaging()
        self._media()
        self._identity()
        self._services()
        self._edge(attach_waf=attach_waf)
        self._email()
        self._web()
        self._monitoring()
        acknowledge(self, prod=config.prod)
        skip_generated_providers(self)

    # ---- keys and logs ----------------------------------------------------------------

    def _allow_logs_to_use_key(self) -> None:
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy "*" is this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

    def _log_group(self, construct_id: str, name: str | None = None) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            log_group_name=name,
            retention=_retention(self.config.log_retention_days),
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN if self.config.prod else RemovalPolicy.DESTROY,
        )

    # ---- network ------------------------------------------------------------------------

    def _network(self) -> None:
        cfg = self.config
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=2,
            nat_gateways=cfg.nat_gateways,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        self.vpc.add_flow_log(
            "RejectedFlows",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self._log_group("FlowLogs")),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.app_subnets = self.vpc.select_subnets(subnet_group_name="app").subnets
        # Interface endpoints keep AWS traffic off the NAT gateway (and cost less per GB); dev
        # puts them in one AZ. The NAT gateway remains for what has no endpoint: the user
        # pool's JWKS document.
        endpoint_subnets = ec2.SubnetSelection(subnets=self.app_subnets[: cfg.endpoint_azs])
        services = {
            "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
            "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
            "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
            "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
            "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
            "BedrockRuntime": ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
        }
        self.endpoints = {
            name: self.vpc.add_interface_endpoint(
                name, service=service, subnets=endpoint_subnets, private_dns_enabled=True
            )
            for name, service in services.items()
        }
        # The data subnets answer Postgres from the app subnets and nothing else.
        acl = ec2.NetworkAcl(
            self,
            "DataAcl",
            vpc=self.vpc,
            subnet_selection=ec2.SubnetSelection(subnet_group_name="data"),
        )
        for index, subnet in enumerate(self.app_subnets):
            cidr = ec2.AclCidr.ipv4(subnet.ipv4_cidr_block)
            acl.add_entry(
                f"PostgresFromApp{index}",
                cidr=cidr,
                rule_number=100 + index,
                traffic=ec2.AclTraffic.tcp_port(5432),
                direction=ec2.TrafficDirection.INGRESS,
            )
            acl.add_entry(
                f"RepliesToApp{index}",
                cidr=cidr,
                rule_number=100 + index,
                traffic=ec2.AclTraffic.tcp_port_range(1024, 65535),
                direction=ec2.TrafficDirection.EGRESS,
            )

    # ---- database -------------------------------------------------------------------------

    def _database(self) -> None:
        cfg = self.config
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9)
        parameters = rds.ParameterGroup(
            self,
            "DbParameters",
            engine=engine,
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )
        # Created before the instance so the exported Postgres log is KMS-encrypted and kept
        # as long as the others (instead of a log-retention custom resource).
        instance_id = f"regenzet-{cfg.name}"
        db_logs = self._log_group("DbLogs", name=f"/aws/rds/instance/{instance_id}/postgresql")
        self.db = rds.DatabaseInstance(
            self,
            "Db",
            instance_identifier=instance_id,
            engine=engine,
            instance_type=ec2.InstanceType(cfg.db_instance_type),
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="data"),
            multi_az=cfg.db_multi_az,
            allocated_storage=cfg.db_storage_gb,
            max_allocated_storage=cfg.db_max_storage_gb,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            storage_encryption_key=self.key,
            credentials=rds.Credentials.from_generated_secret(
                OWNER_DB_USER, encryption_key=self.key
            ),
            database_name=DB_NAME,
            parameter_group=parameters,
            backup_retention=Duration.days(cfg.backup_retention_days),
            deletion_protection=cfg.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            publicly_accessible=False,
            iam_authentication=True,
            enable_performance_insights=True,
            performance_insight_encryption_key=self.key,
            monitoring_interval=Duration.seconds(60),
            cloudwatch_logs_exports=["postgresql"],
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
        )
        self.db.node.add_dependency(db_logs)
        if not cfg.db_multi_az:
            checkov_skip(
                self.db, ("CKV_AWS_157", "dev runs single-AZ to halve its cost; prod is Multi-AZ.")
            )
        assert self.db.secret is not None
        self.owner_secret = self.db.secret
        # The services connect as the least-privileged role that `regenzet db grant` sets up;
        # the owner's secret is only for the setup task.
        self.app_secret = rds.DatabaseSecret(
            self,
            "AppDbSecret",
            username=APP_DB_USER,
            encryption_key=self.key,
            master_secret=self.owner_secret,
        ).attach(self.db)
        rotation_subnets = ec2.SubnetSelection(subnet_group_name="app")
        self.db.add_rotation_single_user(
            automatically_after=Duration.days(30), vpc_subnets=rotation_subnets
        )
        secretsmanager.SecretRotation(
            self,
            "AppDbSecretRotation",
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=self.app_secret,
            target=self.db,
            vpc=self.vpc,
            vpc_subnets=rotation_subnets,
            automatically_after=Duration.days(30),
        )
        self.link_secret = secretsmanager.Secret(
            self,
            "LinkSecret",
            description="Signs the expiring quote-approval links (REGENZET_LINK_SECRET)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        ack(
            self.link_secret,
            (
                "AwsSolutions-SMG4",
                "Rotating the link secret invalidates every quote-approval link already "
                "emailed (valid 7 days), so it is rotated by hand with a restart "
                "(docs/deploy.md, key rotation), not on a schedule.",
            ),
        )
        # Audit checkpoints are signed in KMS: the private key never leaves it.
        self.audit_key = kms.Key(
            self,
            "AuditSigningKey",
            description=f"ReGenZet {cfg.name}: signs audit-chain checkpoints",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            removal_policy=RemovalPolicy.RETAIN,
        )

    # ---- topics -------------------------------------------------------------------------------

    def _messaging(self) -> None:
        self.events_topic = sns.Topic(
            self,
            "DomainEvents",
            display_name="ReGenZet integration events",
            fifo=True,
            master_key=self.key,
            enforce_ssl=True,
        )
        self.notifications_topic = sns.Topic(
            self,
            "Notifications",
            display_name="ReGenZet email requests",
            master_key=self.key,
            enforce_ssl=True,
        )

    # ---- media ------------------------------------------------------------------------------

    def _media(self) -> None:
        cfg = self.config
        removal = RemovalPolicy.RETAIN
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB and S3 access logs need SSE-S3
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            removal_policy=removal,
        )
        checkov_skip(
            self.log_bucket,
            ("CKV_AWS_18", "This is the access-log bucket; logging it into itself would loop."),
        )
        self.media = s3.Bucket(
            self,
            "Media",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="media/",
            cors=[
                s3.CorsRule(
                    allowed_methods=[
                        s3.HttpMethods.GET,
                        s3.HttpMethods.HEAD,
                        s3.HttpMethods.POST,
                        s3.HttpMethods.PUT,
                    ],
                    allowed_origins=[cfg.web_origin],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                # Presigned uploads land under pending/ until the API attaches them.
                s3.LifecycleRule(
                    id="abandoned-uploads", prefix="pending/", expiration=Duration.days(1)
                ),
                # A refused or swept upload's delete only adds a marker in a versioned bucket:
                # its bytes (and a photo's GPS) go a day later, not with old-versions' 30.
                s3.LifecycleRule(
                    id="deleted-uploads",
                    prefix="pending/",
                    noncurrent_version_expiration=Duration.days(1),
                    expired_object_delete_marker=True,
                ),
                s3.LifecycleRule(
                    id="incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(
                    id="old-versions", noncurrent_version_expiration=Duration.days(30)
                ),
            ],
            removal_policy=removal,
        )

    # ---- identity ---------------------------------------------------------------------------

    def _identity(self) -> None:
        cfg = self.config
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"regenzet-{cfg.name}",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=cfg.prod,
            removal_policy=RemovalPolicy.RETAIN if cfg.prod else RemovalPolicy.DESTROY,
        )
        for role in ROLES:
            cognito.CfnUserPoolGroup(
                self,
                f"Group{role.capitalize()}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=role,
                description=f"ReGenZet role {role}",
            )
        # The web app is a public client: authorization code with PKCE, no secret.
        self.web_client = self.user_pool.add_client(
            "WebClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=[f"{cfg.web_origin}/auth/callback"],
                logout_urls=[cfg.web_origin],
            ),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.user_pool_domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"regenzet-{cfg.name}-{_slug(cfg.domain)}"
            ),
        )
        self.issuer = (
            f"https://cognito-idp.{Aws.REGION}.amazonaws.com/{self.user_pool.user_pool_id}"
        )

    # ---- services -------------------------------------------------------------------------

    def _image(self) -> ecs.ContainerImage:
        if self.config.image:
            repository, _, tag = self.config.image.partition(":")
            repo = ecr.Repository.from_repository_name(self, "ImageRepository", repository)
            return ecs.ContainerImage.from_ecr_repository(repo, tag or "latest")
        return ecs.ContainerImage.from_asset(
            str(self.repo_root),
            file="deploy/Dockerfile",
            target="runtime",
            platform=ecr_assets.Platform.LINUX_ARM64,
            ignore_mode=_docker_ignore(),
        )

    def _services(self) -> None:
        cfg = self.config
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        image = self._image()
        db_url = (
            f"postgresql://{APP_DB_USER}@{self.db.db_instance_endpoint_address}:"
            f"{self.db.db_instance_endpoint_port}/{DB_NAME}"
        )
        common_env = {
            "REGENZET_DATABASE_URL": db_url,
            "PGSSLMODE": "require",  # the server refuses plain connections too (rds.force_ssl)
            "AWS_REGION": Aws.REGION,
            "REGENZET_JWKS_URL": f"{self.issuer}/.well-known/jwks.json",
            "REGENZET_JWT_ISSUER": self.issuer,
            "REGENZET_JWT_AUDIENCE": self.web_client.user_pool_client_id,
            "REGENZET_SNS_TOPIC_ARN": self.events_topic.topic_arn,
            "REGENZET_NOTIFICATIONS_TOPIC_ARN": self.notifications_topic.topic_arn,
            "REGENZET_MAIL_FROM": cfg.mail_from,
            "REGENZET_PUBLIC_URL": cfg.web_origin,
            "REGENZET_AUDIT_KMS_KEY_ID": self.audit_key.key_arn,
            # Media in S3 (ADR 0040): presigned POST/GET on the bucket, SSE-KMS with its key;
            # and the model the assistant's Bedrock adapter calls (docs/deploy.md).
            "REGENZET_MEDIA_BACKEND": "s3",
            "REGENZET_MEDIA_BUCKET": self.media.bucket_name,
            "REGENZET_MEDIA_KMS_KEY_ID": self.key.key_arn,
            "REGENZET_BEDROCK_MODEL_ID": cfg.bedrock_model_id,
        }
        common_secrets = {
            "REGENZET_DATABASE_PASSWORD": ecs.Secret.from_secrets_manager(
                self.app_secret, "password"
            ),
            "REGENZET_LINK_SECRET": ecs.Secret.from_secrets_manager(self.link_secret),
        }
        api_env = {
            **common_env,
            "REGENZET_FOLLOWERS_IN_PROCESS": "off",
            # The assistant runs in the API (ADR 0028) on Bedrock; locally it is offline.
            "REGENZET_CHAT_MODEL": "bedrock",
            "REGENZET_CORS_ORIGINS": cfg.web_origin,
            "REGENZET_TRUSTED_PROXIES": self.vpc.vpc_cidr_block,
        }
        # The three services: one image, chosen by command (deploy/services.json).
        services = {
            "api": (cfg.api_cpu, cfg.api_memory_mb, api_env, API_PORT),
            "followers": (cfg.worker_cpu, cfg.worker_memory_mb, common_env, None),
            "relay": (cfg.worker_cpu, cfg.worker_memory_mb, common_env, None),
        }
        tasks = {
            name: self._task(
                name.capitalize(),
                SERVICES[name]["command"],
                health=SERVICES[name]["health"],
                cpu=cpu,
                memory=memory,
                environment=environment,
                secrets=common_secrets,
                image=image,
                port=port,
            )
            for name, (cpu, memory, environment, port) in services.items()
        }
        self.api_task, self.followers_task, self.relay_task = (
            tasks["api"],
            tasks["followers"],
            tasks["relay"],
        )
        # The one-off setup task: as the schema owner, create the tables and the app's login
        # role and grant it append-only access (docs/deploy.md, "First run").
        owner_url = (
            f"postgresql://{OWNER_DB_USER}@{self.db.db_instance_endpoint_address}:"
            f"{self.db.db_instance_endpoint_port}/{DB_NAME}"
        )
        self.setup_task = self._task(
            "Setup",
            SERVICES["setup"]["command"],
            health=None,
            cpu=256,
            memory=512,
            environment={**common_env, "REGENZET_DATABASE_URL": owner_url},
            secrets={
                "REGENZET_DATABASE_PASSWORD": ecs.Secret.from_secrets_manager(
                    self.owner_secret, "password"
                ),
                "REGENZET_APP_DB_PASSWORD": ecs.Secret.from_secrets_manager(
                    self.app_secret, "password"
                ),
                "REGENZET_LINK_SECRET": ecs.Secret.from_secrets_manager(self.link_secret),
            },
            image=image,
        )
        self.setup_sg = ec2.SecurityGroup(
            self, "SetupSg", vpc=self.vpc, description="The one-off database setup task"
        )
        self.db.connections.allow_default_port_from(self.setup_sg, "setup task")

        # Least privilege per service: each gets exactly what its code calls.
        api_role = self.api_task.task_role
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PresignUploads",
                actions=["s3:PutObject"],
                resources=[self.media.arn_for_objects("pending/*")],
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PresignDownloads",
                actions=["s3:GetObject"],
                resources=[self.media.arn_for_objects("*")],
            )
        )
        # Confirming an upload (ADR 0040): copy it out of pending/ into media/ and delete it
        # (also when it is refused), and write the preview and thumbnail beside it. The
        # original is evidence: the role may create it only as a copy of an upload under
        # pending/ (never PutObject of bytes of its own), and writes nothing else under
        # media/ but the two derived images. S3 cannot also demand If-None-Match on the copy
        # (a bucket policy requiring it makes CopyObject fail: 403 without the header, 501
        # with it), so a copy of another pending upload over an original stays possible for
        # this role; the overwritten version is then kept as noncurrent (old-versions).
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DerivedMedia",
                actions=["s3:PutObject"],
                resources=[
                    self.media.arn_for_objects("media/*/preview.webp"),
                    self.media.arn_for_objects("media/*/thumbnail.webp"),
                ],
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ConfirmedOriginals",
                actions=["s3:PutObject"],
                resources=[self.media.arn_for_objects("media/*/original")],
                conditions={
                    "StringLike": {
                        "s3:x-amz-copy-source": [
                            f"{self.media.bucket_name}/pending/*",
                            f"/{self.media.bucket_name}/pending/*",
                        ]
                    }
                },
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DiscardUploads",
                actions=["s3:DeleteObject"],
                resources=[self.media.arn_for_objects("pending/*")],
            )
        )
        # Without ListBucket, HeadObject of a key not uploaded yet answers 403 instead of 404,
        # and a confirm before the upload would look like an outage (503), not 409.
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MediaExists",
                actions=["s3:ListBucket"],
                resources=[self.media.bucket_arn],
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MediaKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.key.key_arn],
            )
        )
        self.api_task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=[
                    f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/"
                    f"{cfg.bedrock_model_id}"
                ],
            )
        )
        self.audit_key.grant(self.api_task.task_role, "kms:GetPublicKey", "kms:Verify")
        self.audit_key.grant(self.followers_task.task_role, "kms:Sign", "kms:GetPublicKey")
        self.audit_key.grant(self.setup_task.task_role, "kms:GetPublicKey")
        self._publisher(self.followers_task.task_role, self.notifications_topic, "EmailRequests")
        self._publisher(self.relay_task.task_role, self.events_topic, "IntegrationEvents")
        ack(
            api_role,
            (
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.media.node.default_child)}"
                ".Arn>/pending/*]",
                "Uploads are presigned per object under pending/ (the key is chosen per "
                "upload); outside that prefix only the derived images and copied originals "
                "under media/ can be written (see those acks).",
            ),
            (
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.media.node.default_child)}"
                ".Arn>/*]",
                "Downloads are presigned per media object; object keys are not known in "
                "advance. Read only, this bucket only.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.media.node.default_child)}"
                ".Arn>/media/*/preview.webp]",
                "The preview made at confirm, one per confirmed object (server-chosen key); "
                "no other name under media/ may be put.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.media.node.default_child)}"
                ".Arn>/media/*/thumbnail.webp]",
                "The thumbnail made at confirm, one per confirmed object (server-chosen key).",
            ),
            (
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(self.media.node.default_child)}"
                ".Arn>/media/*/original]",
                "Originals may only be created as a copy of an upload under pending/ "
                "(condition s3:x-amz-copy-source), never written with bytes of the API's own.",
            ),
        )

        self.alb_sg = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Internal ALB: only the API Gateway VPC link may connect",
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=self.vpc,
            internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="app"),
            security_group=self.alb_sg,
            drop_invalid_header_fields=True,
            deletion_protection=cfg.prod,
        )
        self.alb.log_access_logs(self.log_bucket, prefix="alb")
        listener = self.alb.add_listener("Http", port=80, open=False)
        checkov_skip(
            listener,
            *[
                (
                    check,
                    "TLS ends at API Gateway; this listener is on an internal ALB that only the "
                    "VPC link's security group can reach, inside the VPC.",
                )
                for check in ("CKV_AWS_2", "CKV_AWS_103")
            ],
        )

        self.api_service = self._service("Api", self.api_task, desired=cfg.api_min_tasks)
        listener.add_targets(
            "ApiTargets",
            port=API_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.api_service],
            health_check=elbv2.HealthCheck(path="/health", healthy_http_codes="200"),
            deregistration_delay=Duration.seconds(30),
        )
        scaling = self.api_service.auto_scale_task_count(
            min_capacity=cfg.api_min_tasks, max_capacity=cfg.api_max_tasks
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        # One follower and one relay: they take turns safely, but a second adds nothing.
        self.followers_service = self._service("Followers", self.followers_task, desired=1)
        self.relay_service = self._service("Relay", self.relay_task, desired=1)

    def _task(
        self,
        name: str,
        command: list[str],
        *,
        health: list[str] | None,
        cpu: int,
        memory: int,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        image: ecs.ContainerImage,
        port: int | None = None,
    ) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            f"{name}Task",
            cpu=cpu,
            memory_limit_mib=memory,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_volume(name="data")
        task.add_volume(name="tmp")
        container = task.add_container(
            name,
            image=image,
            command=command,
            environment=environment,
            secrets=secrets,
            user="10001:10001",
            readonly_root_filesystem=True,
            # uvicorn finishes in-flight requests within 10 s; followers commit their batch.
            stop_timeout=Duration.seconds(60),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=name.lower(), log_group=self._log_group(f"{name}Logs")
            ),
            health_check=None
            if health is None
            else ecs.HealthCheck(
                command=["CMD", *health],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            port_mappings=[] if port is None else [ecs.PortMapping(container_port=port)],
        )
        container.add_mount_points(
            ecs.MountPoint(container_path=DATA_DIR, source_volume="data", read_only=False),
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False),  # noqa: S108
        )
        self.key.grant_decrypt(task.obtain_execution_role())
        ack(
            task.obtain_execution_role(),
            (
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions (AWS requires "
                '"*"); every other statement of the execution role names its repository, '
                "log group and secrets.",
            ),
        )
        return task

    def _publisher(self, role: iam.IRole, topic: sns.Topic, sid: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{sid}Key",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.key.key_arn],
            )
        )

    def _service(
        self, name: str, task: ecs.FargateTaskDefinition, *, desired: int
    ) -> ecs.FargateService:
        service = ecs.FargateService(
            self,
            f"{name}Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=desired,
            # Dev keeps its tasks in the AZ of its endpoints (no cross-AZ traffic charges).
            vpc_subnets=ec2.SubnetSelection(subnets=self.app_subnets[: self.config.endpoint_azs]),
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100 if desired > 1 or name == "Api" else 0,
            max_healthy_percent=200,
            enable_execute_command=False,
        )
        self.db.connections.allow_default_port_from(service, f"{name} service")
        return service

    # ---- edge: API Gateway REST API + WAF ---------------------------------------------

    def _edge(self, *, attach_waf: bool) -> None:
        cfg = self.config
        link_sg = ec2.SecurityGroup(
            self,
            "VpcLinkSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="API Gateway VPC link to the internal ALB",
        )
        link_sg.add_egress_rule(self.alb_sg, ec2.Port.tcp(80), "to the internal ALB")
        self.alb_sg.add_ingress_rule(link_sg, ec2.Port.tcp(80), "from the API Gateway VPC link")
        self.vpc_link = apigwv2.VpcLink(
            self,
            "VpcLink",
            vpc=self.vpc,
            subnets=ec2.SubnetSelection(subnet_group_name="app"),
            security_groups=[link_sg],
        )
        access_logs = self._log_group("ApiAccessLogs")
        authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[self.user_pool]
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"regenzet-{cfg.name}",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=cfg.throttle_rate_per_s,
                throttling_burst_limit=cfg.throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=[cfg.web_origin],
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "If-Match",
                    "X-Request-ID",
                    "X-Approval-Token",
                ],
                expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
            ),
        )
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        api_root = self.api.root.add_resource("api")
        self._proxy(api_root, "api", authorizer=authorizer, validator=validator)
        # Emailed quote-approval links carry their own signed token (X-Approval-Token); the
        # API verifies it, so these two paths need no bearer token at the gateway.
        approval = api_root.add_resource("v1").add_resource("quote-approval")
        self._proxy(approval, "api/v1/quote-approval", authorizer=None, validator=validator)
        # Integrators: the same API with an API key, throttled per key by the usage plan.
        integrations = self.api.root.add_resource("integrations")
        self._proxy(integrations, "api", authorizer=authorizer, validator=validator, api_key=True)
        checkov_skip(
            self.api.deployment_stage,
            (
                "CKV_AWS_120",
                "No response caching: answers are per caller and role, and reads must see "
                "the caller's own writes (min_position).",
            ),
        )
        plan = self.api.add_usage_plan(
            "Integrators",
            name=f"regenzet-{cfg.name}-integrators",
            throttle=apigw.ThrottleSettings(rate_limit=10, burst_limit=20),
            quota=apigw.QuotaSettings(limit=100_000, period=apigw.Period.MONTH),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)

        self.web_acl = wafv2.CfnWebACL(
            self,
            "Waf",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("regenzet-waf"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=cfg.waf_rate_limit_per_5min, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("rate-per-ip"),
                ),
                *[
                    _managed_rule(name, priority)
                    for priority, name in enumerate(
                        [
                            "AWSManagedRulesAmazonIpReputationList",
                            "AWSManagedRulesCommonRuleSet",
                            "AWSManagedRulesKnownBadInputsRuleSet",
                        ],
                        start=1,
                    )
                ],
            ],
        )
        waf_logs = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=f"aws-waf-logs-regenzet-{cfg.name}",
            retention=_retention(cfg.log_retention_days),
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN if cfg.prod else RemovalPolicy.DESTROY,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[waf_logs.log_group_arn],
        )
        if attach_waf:
            wafv2.CfnWebACLAssociation(
                self,
                "WafOnApi",
                resource_arn=self.api.deployment_stage.stage_arn,
                web_acl_arn=self.web_acl.attr_arn,
            )

    def _proxy(
        self,
        resource: apigw.IResource,
        backend_prefix: str,
        *,
        authorizer: apigw.IAuthorizer | None,
        validator: apigw.IRequestValidator,
        api_key: bool = False,
    ) -> None:
        """``ANY {resource}/{proxy+}`` to the internal ALB through the VPC link (V2)."""
        proxy = resource.add_resource("{proxy+}")
        integration = apigw.HttpIntegration(
            f"http://{self.alb.load_balancer_dns_name}/{backend_prefix}/{{proxy}}",
            http_method="ANY",
            proxy=True,
            options=apigw.IntegrationOptions(
                request_parameters={"integration.request.path.proxy": "method.request.path.proxy"},
                timeout=Duration.seconds(29),
            ),
        )
        method = proxy.add_method(
            "ANY",
            integration,
            authorization_type=apigw.AuthorizationType.COGNITO
            if authorizer
            else apigw.AuthorizationType.NONE,
            authorizer=authorizer,
            api_key_required=api_key,
            request_parameters={"method.request.path.proxy": True},
            request_validator=validator,
        )
        # No L2 for REST VPC links V2 yet (ADR 0018): set the private integration directly.
        cfn = method.node.default_child
        assert isinstance(cfn, apigw.CfnMethod)
        cfn.add_property_override("Integration.ConnectionType", "VPC_LINK")
        cfn.add_property_override("Integration.ConnectionId", self.vpc_link.vpc_link_id)
        cfn.add_property_override("Integration.IntegrationTarget", self.alb.load_balancer_arn)
        if authorizer is None:
            checkov_skip(
                method,
                (
                    "CKV_AWS_59",
                    "Quote-approval links carry a signed, expiring token the API verifies.",
                ),
            )
            Validations.of(method).acknowledge(
                _ack(
                    "AwsSolutions-APIG4",
                    "Quote-approval links carry a signed, expiring X-Approval-Token that the "
                    "API verifies; customers open them from email without signing in.",
                ),
                _ack(
                    "AwsSolutions-COG4",
                    "Same as APIG4: the signed approval token, not a user-pool token, "
                    "authorises these two routes.",
                ),
            )

    # ---- email --------------------------------------------------------------------------

    def _email(self) -> None:
        cfg = self.config
        self.email_dlq = sqs.Queue(
            self,
            "EmailDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.idempotency_table = dynamodb.TableV2(
            self,
            "EmailIdempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            billing=dynamodb.Billing.on_demand(),
            removal_policy=RemovalPolicy.DESTROY,
        )
        config_set = ses.ConfigurationSet(
            self,
            "MailConfig",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        identity = ses.EmailIdentity(
            self,
            "MailDomain",
            identity=ses.Identity.domain(cfg.domain),
            configuration_set=config_set,
        )
        self.email_function = lambda_.DockerImageFunction(
            self,
            "EmailFunction",
            description="Renders email requests and sends them through SES, once per id",
            code=lambda_.DockerImageCode.from_image_asset(
                str(self.repo_root),
                file="deploy/Dockerfile",
                target="email-lambda",
                platform=ecr_assets.Platform.LINUX_ARM64,
                ignore_mode=_docker_ignore(),
            ),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=Duration.seconds(30),
            reserved_concurrent_executions=5,
            environment={
                "REGENZET_MAIL_FROM": cfg.mail_from,
                "REGENZET_IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "POWERTOOLS_SERVICE_NAME": "regenzet-email",
            },
            environment_encryption=self.key,
            dead_letter_queue=self.email_dlq,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self._log_group("EmailLogs"),
        )
        checkov_skip(
            self.email_function,
            (
                "CKV_AWS_117",
                "Outside the VPC on purpose: it reads no database and calls only SES, DynamoDB "
                "and KMS, which a VPC would reach through extra endpoints or the NAT.",
            ),
        )
        self.notifications_topic.add_subscription(
            subs.LambdaSubscription(self.email_function, dead_letter_queue=self.email_dlq)
        )
        # Powertools' idempotency record per request id: exactly the item calls it makes.
        self.email_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="IdempotencyRecords",
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[self.idempotency_table.table_arn],
            )
        )
        self.email_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="IdempotencyKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.key.key_arn],
            )
        )
        ack(
            self.email_function,
            (
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "The Lambda basic execution policy only lets the function write its own logs.",
            ),
            (
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray tracing (PutTraceSegments, PutTelemetryRecords) has no resource-level "
                "permissions; every other statement names its table, key, identity or queue.",
            ),
        )
        _, address = parseaddr(cfg.mail_from)
        self.email_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[
                    self.format_arn(
                        service="ses",
                        resource="identity",
                        resource_name=identity.email_identity_name,
                    ),
                    self.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=config_set.configuration_set_name,
                    ),
                ],
                conditions={"StringEquals": {"ses:FromAddress": address}},
            )
        )

    # ---- web app --------------------------------------------------------------------------

    def _web(self) -> None:
        cfg = self.config
        self.web_app = amplify.CfnApp(
            self,
            "WebApp",
            name=f"regenzet-{cfg.name}",
            platform="WEB",
            description="ReGenZet web app (web/dist, deployed with `aws amplify`)",
            custom_rules=[
                # The SPA rewrite: every path that is not a file serves index.html (200).
                amplify.CfnApp.CustomRuleProperty(
                    source="</^[^.]+$|\\.(?!(css|gif|ico|jpg|jpeg|js|json|map|png|svg|txt|"
                    "webp|woff|woff2|ttf)$)([^.]+$)/>",
                    target="/index.html",
                    status="200",
                )
            ],
            environment_variables=[
                amplify.CfnApp.EnvironmentVariableProperty(name="VITE_API_URL", value=self.api.url),
                amplify.CfnApp.EnvironmentVariableProperty(
                    name="VITE_COGNITO_CLIENT_ID", value=self.web_client.user_pool_client_id
                ),
                amplify.CfnApp.EnvironmentVariableProperty(
                    name="VITE_COGNITO_ISSUER", value=self.issuer
                ),
            ],
        )
        amplify.CfnBranch(
            self,
            "WebBranch",
            app_id=self.web_app.attr_app_id,
            branch_name="main",
            stage="PRODUCTION" if cfg.prod else "DEVELOPMENT",
            enable_auto_build=False,
        )

    # ---- alarms and dashboard ----------------------------------------------------------

    def _monitoring(self) -> None:
        cfg = self.config
        self.alarm_topic = sns.Topic(
            self, "Alarms", display_name="ReGenZet alarms", master_key=self.key, enforce_ssl=True
        )
        if cfg.alarm_email:
            self.alarm_topic.add_subscription(subs.EmailSubscription(cfg.alarm_email))
        follower_lag = self._log_metric(
            "FollowerLag", self.followers_task, '{ $.event = "followers.lag" }', "$.lag"
        )
        relay_backlog = self._log_metric(
            "RelayBacklog", self.relay_task, '{ $.event = "followers.lag" }', "$.lag"
        )
        five_min = Duration.minutes(5)
        alarms = [
            cw.Alarm(
                self,
                "Api5xxAlarm",
                alarm_description="The API answers 5xx",
                metric=self.api.metric_server_error(period=five_min, statistic="Sum"),
                threshold=5,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "ApiTargets5xxAlarm",
                alarm_description="API tasks answer 5xx to the load balancer",
                metric=self.alb.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_min, statistic="Sum"
                ),
                threshold=5,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "FollowerLagAlarm",
                alarm_description="Read models, audit chain or email policy fall behind the "
                "log (or the followers stopped reporting)",
                metric=follower_lag,
                threshold=1000,
                evaluation_periods=3,
                treat_missing_data=cw.TreatMissingData.BREACHING,
            ),
            cw.Alarm(
                self,
                "RelayBacklogAlarm",
                alarm_description="Integration events wait to be published (or the relay "
                "stopped reporting)",
                metric=relay_backlog,
                threshold=1000,
                evaluation_periods=3,
                treat_missing_data=cw.TreatMissingData.BREACHING,
            ),
            cw.Alarm(
                self,
                "EmailDlqAlarm",
                alarm_description="Emails that could not be sent wait in the DLQ",
                metric=self.email_dlq.metric_approximate_number_of_messages_visible(
                    period=five_min, statistic="Maximum"
                ),
                threshold=0,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "DbCpuAlarm",
                alarm_description="Database CPU above 80 %",
                metric=self.db.metric_cpu_utilization(period=five_min),
                threshold=80,
                evaluation_periods=3,
            ),
            cw.Alarm(
                self,
                "DbStorageAlarm",
                alarm_description="Less than 5 GiB of database storage left",
                metric=self.db.metric_free_storage_space(period=five_min),
                threshold=5 * 1024**3,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
            ),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"regenzet-{cfg.name}")
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[self.api.metric_count(period=five_min)],
                right=[
                    self.api.metric_client_error(period=five_min),
                    self.api.metric_server_error(period=five_min),
                ],
            ),
            cw.GraphWidget(title="API latency", left=[self.api.metric_latency(period=five_min)]),
            cw.GraphWidget(
                title="Follower lag / relay backlog", left=[follower_lag, relay_backlog]
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(title="Database CPU", left=[self.db.metric_cpu_utilization()]),
            cw.GraphWidget(
                title="Database free storage", left=[self.db.metric_free_storage_space()]
            ),
            cw.GraphWidget(
                title="Email DLQ",
                left=[self.email_dlq.metric_approximate_number_of_messages_visible()],
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=alarms),
        )
        CfnOutput(self, "ApiUrl", value=self.api.url)
        CfnOutput(self, "WebAppId", value=self.web_app.attr_app_id)
        CfnOutput(self, "WebAppUrl", value=f"https://main.{self.web_app.attr_default_domain}")
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "WebClientId", value=self.web_client.user_pool_client_id)
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "SetupTaskDefinition", value=self.setup_task.task_definition_arn)
        CfnOutput(self, "SetupSecurityGroup", value=self.setup_sg.security_group_id)
        CfnOutput(
            self,
            "AppSubnets",
            value=",".join(s.subnet_id for s in self.app_subnets),
        )
        CfnOutput(self, "DbInstanceId", value=self.db.instance_identifier)

    def _log_metric(
        self, name: str, task: ecs.FargateTaskDefinition, pattern: str, value: str
    ) -> cw.Metric:
        container = task.default_container
        assert container is not None and container.log_driver_config is not None
        group_name = container.log_driver_config.options["awslogs-group"]
        group = logs.LogGroup.from_log_group_name(self, f"{name}Group", group_name)
        logs.MetricFilter(
            self,
            f"{name}Filter",
            log_group=group,
            filter_pattern=logs.FilterPattern.literal(pattern),
            metric_namespace=METRICS_NAMESPACE,
            metric_name=f"{name}-{self.config.name}",
            metric_value=value,
        )
        return cw.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=f"{name}-{self.config.name}",
            period=Duration.minutes(5),
            statistic="Maximum",
        )


def _ack(rule: str, reason: str) -> object:
    from aws_cdk import Acknowledgment

    return Acknowledgment(id=rule, reason=reason)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed_rule(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=_visibility(name),
    )


def _retention(days: int) -> logs.RetentionDays:
    """CloudWatch accepts only certain retention periods."""
    allowed = {
        30: logs.RetentionDays.ONE_MONTH,
        90: logs.RetentionDays.THREE_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
        731: logs.RetentionDays.TWO_YEARS,
    }
    if days not in allowed:
        raise ValueError(f"log retention must be one of {sorted(allowed)} days, not {days}")
    return allowed[days]


def _slug(domain: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in domain.lower()).strip("-")[:40]


def _docker_ignore() -> object:
    from aws_cdk import IgnoreMode

    return IgnoreMode.DOCKER
