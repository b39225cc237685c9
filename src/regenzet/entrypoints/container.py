"""Composition root: the only place that chooses adapters and builds the application.

Small dependency-injector containers (core, gateways, services) composed in one root, as in
the library's "multiple containers" example; tests override providers instead of patching.
Nothing is constructed at import time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg_pool
from dependency_injector import containers, providers
from eventsourcing import persistence as es_persistence

from regenzet.adapters.audit_chain import (
    CHAIN_TABLE,
    CHECKPOINT_TABLE,
    InMemoryChainStore,
    PostgresChainStore,
    SqliteChainStore,
)
from regenzet.adapters.audit_signing import KmsAuditSigner, LocalAuditSigner
from regenzet.adapters.chat_bedrock import (
    Backoff,
    BedrockChatModel,
    BedrockGuardrailScreen,
    GuardrailRef,
)
from regenzet.adapters.chat_local import LocalChatModel
from regenzet.adapters.clock import ManualClock, SystemClock
from regenzet.adapters.event_log import (
    PostgresEventLogReader,
    RecorderEventLogReader,
    SqliteEventLogReader,
)
from regenzet.adapters.idempotency import RecorderIdempotencyStore
from regenzet.adapters.identity import JwtTokenVerifier, LocalKeyPair, LocalTokenIssuer
from regenzet.adapters.links import SignedLinks
from regenzet.adapters.mailers import EmlFileMailer, SmtpMailer, SnsNotificationMailer
from regenzet.adapters.persistence import (
    DatabaseUnavailableError,
    SerialInsertPostgresRecorder,
    ensure_login_role,
    ensure_postgres,
    memory_env,
    postgres_env,
    redact,
    sqlite_env,
)
from regenzet.adapters.persistence import (
    grant_append_only as persistence_grant,
)
from regenzet.adapters.publishers import JsonLinesPublisher, SnsPublisher
from regenzet.adapters.read_models import (
    InMemoryReadModelStore,
    PostgresReadModelStore,
    SqliteReadModelStore,
)
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.access import ObjectAccess
from regenzet.application.audit import ChainFollower, ChainStore, Signer, Verifier
from regenzet.application.chat import (
    Assistant,
    ChatLimits,
    ChatModel,
    ChatTurnLog,
    PassThroughScreen,
    TextScreen,
)
from regenzet.application.chat_tools import WorkshopTools
from regenzet.application.idempotency import IdempotencyStore, KeyRecorder
from regenzet.application.identity import TokenIssuer, TokenVerifier
from regenzet.application.integration_events import IntegrationEventMapper
from regenzet.application.notification_policy import Links, MailDispatcher, NotificationPolicy
from regenzet.application.notifications import Mailer
from regenzet.application.ports import Clock, EventLogReader
from regenzet.application.projections import Follower, ReadModelStore
from regenzet.application.relay import Publisher, Relay
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.settings import Settings, SettingsError

if TYPE_CHECKING:
    from litestar import Litestar

    from regenzet.entrypoints.http.routing import HttpServices

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "Container",
    "ManualClock",
    "aggregate_loader",
    "audit_signer",
    "chain_follower",
    "chain_store",
    "chat_assistant",
    "event_log_reader",
    "event_store_env",
    "http_app_from_settings",
    "http_services",
    "idempotency_store",
    "mailer",
    "memory_env",
    "notification_followers",
    "openapi_document",
    "postgres_conninfo",
    "prepare_store",
    "publisher",
    "read_model_store",
    "readiness",
    "relay_for",
    "signed_links",
    "throwaway_audit_signer",
    "token_issuer",
    "token_verifier",
    "verifier",
    "web_routes",
    "workshop_for",
]

# What the store can raise when the database is down or refuses us; entrypoints turn these
# into "database unavailable" (CLI exit 3, HTTP 503) without knowing the technology.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailableError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    sqlite3.DatabaseError,  # also "file is not a database"
    psycopg.errors.InsufficientPrivilege,  # the role lacks a privilege (see `db grant`)
    es_persistence.DatabaseError,
    es_persistence.InterfaceError,
)


# /ready answers 503 within this many seconds while the store is unreachable.
READY_TIMEOUT = 0.8


def redact_url(url: str) -> str:
    """A database URL with its password hidden (for banners and logs)."""
    return redact(url)


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured store."""
    if settings.database_url is None:
        return sqlite_env(settings.sqlite_path, lock_timeout=settings.pg_lock_timeout)
    return postgres_env(
        settings.database_url,
        pool_size=settings.pg_pool_size,
        max_overflow=settings.pg_max_overflow,
        connect_timeout=settings.pg_connect_timeout,
        lock_timeout=settings.pg_lock_timeout,
        idle_in_transaction_timeout=settings.pg_idle_in_transaction_timeout,
        schema=settings.pg_schema,
    )


def prepare_store(settings: Settings) -> None:
    """Fails fast (one line, no traceback) when the configured database is unreachable."""
    if settings.database_url is not None:
        ensure_postgres(
            settings.database_url,
            connect_timeout=settings.pg_connect_timeout,
            schema=settings.pg_schema,
        )
    else:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"REGENZET_DATA_DIR {settings.data_dir} is not a usable directory: {exc.strerror}"
            raise SettingsError(msg) from None


def workshop_for(env: dict[str, str], clock: ManualClock | SystemClock) -> Workshop:
    """A workshop on an explicit store and clock (benchmarks, tooling)."""
    return Workshop(env=env, clock=clock, vin_decoder=VininfoVinDecoder())


def postgres_conninfo(env: dict[str, str]) -> dict[str, str]:
    """psycopg connection arguments for the event store's Postgres (from its environment)."""
    return {
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "dbname": env["POSTGRES_DBNAME"],
    }


def event_log_reader(env: dict[str, str], workshop: Workshop | None) -> EventLogReader:
    """A bulk reader of the workshop's log, on its own connection, for the same store (the
    workshop is needed only for the in-memory store, read through its recorder)."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.sqlite":
        return SqliteEventLogReader(Path(env["SQLITE_DBNAME"]))
    if module == "eventsourcing.postgres":
        conninfo = {
            **postgres_conninfo(env),
            "connect_timeout": env.get("POSTGRES_CONNECT_TIMEOUT", "5"),
        }
        return PostgresEventLogReader(conninfo, schema=env.get("POSTGRES_SCHEMA") or "public")
    if workshop is None:
        raise ValueError("the in-memory store is read through its workshop's recorder")
    return RecorderEventLogReader(workshop.recorder)


def _local_key_pair(settings: Settings) -> LocalKeyPair:
    """The local signing key, generated under data_dir/keys on first use."""
    return LocalKeyPair.load_or_create(settings.data_dir / "keys")


def token_verifier(settings: Settings) -> TokenVerifier:
    """Cognito's JWKS when ``REGENZET_JWKS_URL`` is set, otherwise the local key pair."""
    if settings.jwks_url is not None:
        return JwtTokenVerifier.jwks(
            settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    return JwtTokenVerifier.local(
        _local_key_pair(settings), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )


def token_issuer(settings: Settings) -> TokenIssuer:
    """Mints tokens with the local key pair; refused when tokens come from a JWKS (Cognito)."""
    if settings.jwks_url is not None:
        raise SettingsError(
            "REGENZET_JWKS_URL is set: tokens are issued by the identity provider, not locally"
        )
    return LocalTokenIssuer(
        _local_key_pair(settings), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )


def idempotency_store(workshop: Workshop, settings: Settings) -> IdempotencyStore:
    """Idempotency keys are written by the workshop's recorder with the events (ADR 0024) and
    read back through it: same SQLite file, Postgres schema or memory."""
    recorder = workshop.recorder
    if not isinstance(recorder, KeyRecorder):
        raise SettingsError(
            f"the event store's recorder ({type(recorder).__name__}) does not record "
            "idempotency keys; build the workshop from event_store_env() or memory_env()"
        )
    retention = timedelta(hours=settings.idempotency_retention_hours)
    return RecorderIdempotencyStore(recorder, retention=retention)


def readiness(workshop: Workshop, timeout: float = READY_TIMEOUT) -> Callable[[], None]:
    """What ``GET /ready`` runs: raises an infrastructure error unless the store answers
    within ``timeout`` seconds (it does not wait for the pool's longer connection bound)."""
    recorder = workshop.recorder

    def ready() -> None:
        if isinstance(recorder, SerialInsertPostgresRecorder):
            recorder.ping(timeout)
        else:
            recorder.max_notification_id()

    return ready


def read_model_store(env: dict[str, str], settings: Settings) -> ReadModelStore:
    """Read models in the same kind of database as the events: a SQLite file of their own
    beside the event store (so followers never hold its write lock), or the Postgres schema."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.sqlite":
        return SqliteReadModelStore(Path(env["SQLITE_DBNAME"]).with_name("read_models.db"))
    if module == "eventsourcing.postgres":
        conninfo = postgres_conninfo(env)
        return PostgresReadModelStore(
            conninfo,
            schema=env.get("POSTGRES_SCHEMA") or "public",
            pool_size=2,
            max_overflow=settings.pg_max_overflow,
            connect_timeout=settings.pg_connect_timeout,
        )
    return InMemoryReadModelStore()


def audit_signer(settings: Settings) -> Signer:
    """KMS when ``REGENZET_AUDIT_KMS_KEY_ID`` is set, otherwise the local Ed25519 key."""
    if settings.audit_kms_key_id is not None:
        return KmsAuditSigner(_aws_client("kms"), settings.audit_kms_key_id)
    return LocalAuditSigner.in_directory(settings.data_dir / "audit-keys")


def throwaway_audit_signer() -> Signer:
    """A fresh Ed25519 key in memory only (benchmarks)."""
    return LocalAuditSigner(LocalKeyPair.generate("EdDSA"))


def chain_store(env: dict[str, str]) -> ChainStore:
    """The audit hash chain beside the log: the same SQLite file or Postgres schema."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.sqlite":
        store: ChainStore = SqliteChainStore(Path(env["SQLITE_DBNAME"]))
    elif module == "eventsourcing.postgres":
        store = PostgresChainStore(
            postgres_conninfo(env),
            schema=env.get("POSTGRES_SCHEMA") or "public",
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        )
    else:
        store = InMemoryChainStore()
    store.prepare()
    return store


def chain_follower(workshop: Workshop, env: dict[str, str], settings: Settings) -> ChainFollower:
    return ChainFollower(
        chain_store(env),
        event_log_reader(env, workshop),
        audit_signer(settings),
        SystemClock(),  # checkpoints carry the real time, even under the demo's business clock
        checkpoint_every=settings.audit_checkpoint_every,
    )


def verifier(workshop: Workshop, env: dict[str, str], settings: Settings) -> Verifier:
    return Verifier(event_log_reader(env, workshop), chain_store(env), audit_signer(settings))


APPEND_ONLY_TABLES = ("regenzet_events", "regenzet_snapshots", CHAIN_TABLE, CHECKPOINT_TABLE)


def ensure_app_login(settings: Settings, role: str, password: str) -> str:
    """Creates the application's login role (or resets its password to ``password``)."""
    if settings.database_url is None:
        raise SettingsError("creating a login role needs REGENZET_DATABASE_URL (Postgres)")
    return ensure_login_role(
        settings.database_url, role, password, connect_timeout=settings.pg_connect_timeout
    )


def grant_append_only(settings: Settings, role: str) -> list[str]:
    """Creates the log, snapshots and audit chain (owned by the caller, the schema's owner),
    then grants ``role`` append-only access to them (``regenzet db grant``). The role creates
    and owns its own derived tables (read models, idempotency keys), so it can rebuild them."""
    if settings.database_url is None:
        raise SettingsError("granting privileges needs REGENZET_DATABASE_URL (Postgres)")
    env = event_store_env(settings)
    workshop = Workshop(env=env, clock=SystemClock(), vin_decoder=VininfoVinDecoder())
    try:
        chain_store(env).close()
    finally:
        workshop.close()
    return persistence_grant(
        settings.database_url,
        schema=settings.pg_schema,
        role=role,
        append_only=APPEND_ONLY_TABLES,
        events_tables=("regenzet_events",),
        connect_timeout=settings.pg_connect_timeout,
    )


def _aws_client(service: str) -> Any:
    """A boto3 client from the standard AWS variables (region, credentials, and
    ``AWS_ENDPOINT_URL`` for a local endpoint such as moto), retrying throttling and 5xx."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def publisher(settings: Settings) -> Publisher:
    """SNS when ``REGENZET_SNS_TOPIC_ARN`` is set, else ``$REGENZET_DATA_DIR/events.jsonl``."""
    if settings.sns_topic_arn is not None:
        return SnsPublisher(_aws_client("sns"), settings.sns_topic_arn)
    return JsonLinesPublisher(settings.data_dir / "events.jsonl")


def mailer(settings: Settings) -> Mailer:
    """SNS → Lambda → SES when a notifications topic is set; SMTP when a host is; else
    ``.eml`` files under ``$REGENZET_DATA_DIR/mail``."""
    if settings.notifications_topic_arn is not None:
        return SnsNotificationMailer(_aws_client("sns"), settings.notifications_topic_arn)
    if settings.smtp_host is not None:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    return EmlFileMailer(settings.data_dir / "mail", settings.mail_from)


def signed_links(settings: Settings, clock: Clock) -> SignedLinks:
    secret = (
        settings.link_secret.encode()
        if settings.link_secret is not None
        else SignedLinks.secret_in(settings.data_dir / "keys")
    )
    return SignedLinks(secret, settings.public_url, clock)


def aggregate_loader(workshop: Workshop) -> Callable[[Any, int], Any]:
    """``load(id, version)`` for followers that fold aggregates (a miss in their cache)."""

    def load(aggregate_id: Any, version: int) -> Any:
        return workshop.repository.get(aggregate_id, version=version)

    return load


def relay_for(
    workshop: Workshop, env: dict[str, str], settings: Settings, positions: ReadModelStore
) -> Relay:
    return Relay(
        positions,
        event_log_reader(env, workshop),
        workshop.decode_rows,
        IntegrationEventMapper(aggregate_loader(workshop)),
        publisher(settings),
    )


def notification_followers(
    workshop: Workshop, env: dict[str, str], settings: Settings, store: ReadModelStore
) -> tuple[Follower, MailDispatcher]:
    """The email policy (a read-model follower writing the outbox) and its dispatcher."""

    links = signed_links(settings, SystemClock())
    policy = NotificationPolicy(
        aggregate_loader(workshop),
        workshop.repository.get,
        Links(quote=links.quote, portal_url=f"{settings.public_url}/portal"),
        SystemClock(),
    )
    follower = Follower(policy, store, event_log_reader(env, workshop), workshop.decode_rows)
    store.prepare(policy)
    return follower, MailDispatcher(store, mailer(settings), SystemClock())


def _bedrock_client(chat: Any) -> Any:
    """bedrock-runtime with botocore's own retries off: the adapter retries with backoff
    (and so can be tested with Stubber), and the read timeout covers a long answer."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "bedrock-runtime",
        region_name=chat.bedrock_region,
        config=Config(
            retries={"total_max_attempts": 1},
            read_timeout=chat.read_timeout_seconds,
            connect_timeout=5,
        ),
    )


def chat_model(settings: Settings) -> tuple[ChatModel, TextScreen]:
    """The offline assistant by default; Bedrock Converse with ``REGENZET_CHAT_MODEL=bedrock``
    (plus ApplyGuardrail on tool results' free text when a guardrail is configured)."""
    chat = settings.chat
    if chat.model != "bedrock" or chat.bedrock_model_id is None:
        return LocalChatModel(), PassThroughScreen()
    client = _bedrock_client(chat)
    guardrail = (
        GuardrailRef(chat.guardrail_id, chat.guardrail_version) if chat.guardrail_id else None
    )
    model = BedrockChatModel(
        client,
        chat.bedrock_model_id,
        temperature=chat.temperature,
        top_p=chat.top_p,
        guardrail=guardrail,
        streaming=chat.bedrock_streaming,
        backoff=Backoff(max_attempts=chat.max_attempts),
    )
    screen: TextScreen = (
        BedrockGuardrailScreen(client, guardrail) if guardrail else PassThroughScreen()
    )
    return model, screen


def chat_assistant(
    settings: Settings,
    workshop: Workshop,
    read_models: ReadModelStore,
    model: ChatModel | None = None,
    screen: TextScreen | None = None,
    record_turns: bool = True,
) -> tuple[Assistant, ChatTurnLog]:
    """The assistant over the workshop's queries and read models, its tools limited by the
    API's role policy, its turns recorded beside the read models."""
    from regenzet.entrypoints.http.policy import allowed

    chat = settings.chat
    if model is None:
        model, configured_screen = chat_model(settings)
        screen = screen or configured_screen
    turns = ChatTurnLog(read_models, workshop.clock, timedelta(days=chat.retention_days))
    tools = WorkshopTools(workshop, ObjectAccess(workshop), read_models, workshop.clock).all()
    assistant = Assistant(
        model,
        tools,
        lambda operation_id, principal: allowed(operation_id, principal.role),
        turns if record_turns else None,  # only benchmarks leave the audit record out
        workshop.clock,
        ChatLimits(
            max_tool_rounds=chat.max_tool_rounds,
            max_tokens_per_turn=chat.max_tokens_per_turn,
            max_output_tokens=chat.max_output_tokens,
            max_seconds=float(chat.max_seconds),
        ),
        screen=screen,
    )
    return assistant, turns


def http_services(
    settings: Settings,
    workshop: Workshop,
    env: dict[str, str],
    verifier: TokenVerifier | None = None,
    read_models: ReadModelStore | None = None,
    audit: Verifier | None = None,
    chat_model: ChatModel | None = None,
) -> HttpServices:
    """Everything the HTTP handlers need, for one workshop and store."""
    from regenzet.application.access import ObjectAccess
    from regenzet.application.quote_approval import QuoteApprovals
    from regenzet.entrypoints.http.routing import HttpServices
    from regenzet.entrypoints.http.security import Gatekeeper, RateLimiter, parse_networks

    assistant, turns = (
        chat_assistant(settings, workshop, read_models, model=chat_model)
        if read_models is not None
        else (None, None)
    )
    return HttpServices(
        assistant=assistant,
        chat_turns=turns,
        chat_limiter=RateLimiter(settings.chat.rate_limit_per_subject),
        read_models=read_models,
        audit=audit,
        workshop=workshop,
        access=ObjectAccess(workshop),
        idempotency=idempotency_store(workshop, settings),
        ready=readiness(workshop),
        clock=workshop.clock,
        gatekeeper=Gatekeeper(
            verifier=verifier or token_verifier(settings),
            per_ip=RateLimiter(settings.rate_limit_per_ip),
            per_subject=RateLimiter(settings.rate_limit_per_subject),
            trusted_proxies=parse_networks(settings.trusted_proxies),
        ),
        # Links expire by the workshop's clock, the one the quote emails are dated by.
        quote_approvals=QuoteApprovals(workshop, signed_links(settings, workshop.clock)),
    )


def http_app_from_settings(settings: Settings) -> Litestar:
    """The API for the configured store (what ``regenzet serve`` runs)."""
    from regenzet.entrypoints.followers import runner_for
    from regenzet.entrypoints.http.app import create_app

    prepare_store(settings)
    container = Container(settings=settings)
    workshop: Workshop = container.services.workshop()
    env = event_store_env(settings)
    on_startup: list[Callable[[], None]] = []
    closers: list[Callable[[], None]] = []
    if settings.followers_in_process:
        # The read models are kept up to date by followers in a background thread of this
        # process (a separate ``regenzet followers run`` may follow too: they take turns safely).
        runner = runner_for(workshop, env, settings)
        for follower in runner.followers:
            follower.check_schema()  # an outdated read model stops start-up with one clear line
        read_models = runner.read_models
        on_startup.append(runner.start)
        closers.append(runner.stop)  # the batch in flight commits, then it closes its own
    else:
        # REGENZET_FOLLOWERS_IN_PROCESS=off: the followers service keeps the read models; the
        # API only reads them, and still refuses to start on an outdated schema.
        from regenzet.entrypoints.followers import build_followers

        followers, read_models = build_followers(workshop, env, settings)
        for follower in followers:
            follower.check_schema()
        closers.append(read_models.close)
        if followers:
            closers.append(followers[0].reader.close)
    audit = verifier(workshop, env, settings)
    services = http_services(settings, workshop, env, read_models=read_models, audit=audit)

    def close() -> None:
        for closer in closers:
            closer()
        for closable in (audit.store, audit.reader, services.idempotency):
            closable.close()

    return create_app(
        services,
        cors_origins=settings.cors_origins,
        extra_routes=web_routes(settings, workshop.clock),
        on_startup=on_startup,
        on_shutdown=[close],
    )


def web_routes(settings: Settings, clock: Clock) -> list[Any]:
    """The routes outside the API: the local sign-in (only when tokens are signed locally) and
    the built web app with its ``/config.json`` (how the browser signs in)."""
    from regenzet.entrypoints.http.local_sign_in import local_sign_in_router
    from regenzet.entrypoints.http.spa import WebConfig, spa_handlers

    routes: list[Any] = []
    if settings.jwks_url is None:
        routes.append(local_sign_in_router(token_issuer(settings), clock))
        config = WebConfig(auth="local")
    else:
        # Cognito: the issuer is the OIDC authority and the ID token's audience the app client.
        config = WebConfig(
            auth="oidc", oidc_authority=settings.jwt_issuer, oidc_client_id=settings.jwt_audience
        )
    if settings.web_dist is not None:
        routes += spa_handlers(settings.web_dist, config)
    return routes


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, built without a server or a database: the app on an
    in-memory store with a throwaway key, as the local setup mounts it (with the local sign-in).
    The web app's client types are generated from it (``regenzet openapi``)."""
    import tempfile

    from regenzet.entrypoints.http.app import create_app
    from regenzet.entrypoints.http.local_sign_in import local_sign_in_router

    # A throwaway data directory: building the app creates local secrets (the link key), which
    # must not land in whatever directory the command runs from.
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch), database_url=None)
        keys = LocalKeyPair.generate()
        clock = SystemClock()
        workshop = workshop_for(memory_env(), clock)
        try:
            verifier = JwtTokenVerifier.local(
                keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
            services = http_services(settings, workshop, {}, verifier=verifier)
            issuer = LocalTokenIssuer(
                keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
            app = create_app(services, extra_routes=[local_sign_in_router(issuer, clock)])
            return app.openapi_schema.to_schema()
        finally:
            workshop.close()


class Core(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)


class Gateways(containers.DeclarativeContainer):
    vin_decoder = providers.Singleton(VininfoVinDecoder)


class Services(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    gateways = providers.DependenciesContainer()

    store_env = providers.Callable(event_store_env, core.settings)
    workshop = providers.Singleton(
        Workshop,
        env=store_env,
        clock=core.clock,
        vin_decoder=gateways.vin_decoder,
        tax_rate=core.settings.provided.tax_rate,
        currency=core.settings.provided.currency,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(Core, settings=settings)
    gateways = providers.Container(Gateways)
    services = providers.Container(Services, core=core, gateways=gateways)
