"""The bootstrap: the only place that chooses adapters and composes the application.

Imported by the process entry points alone (the ``regenzet`` CLI, the ASGI factory, the
Lambda handlers) and by tests; the runtime it builds (HTTP handlers, followers, the relay and
audit commands) receives what it needs and never imports it back. The storage technology is
chosen once (:func:`backend`): the backend object builds every store beside the log, each
owning its pool within one connection budget (ADR 0034). Nothing is constructed at import
time, and nothing here creates tables or grants: the adapters do (``Backend.setup``,
``Backend.grant_append_only``), called by the commands that set up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from regenzet.adapters.audit_signing import KmsAuditSigner, LocalAuditSigner
from regenzet.adapters.backends import (
    Backend,
    PoolShares,
    PostgresBackend,
    SqliteBackend,
    Waker,
    backend_for_env,
)
from regenzet.adapters.chat_bedrock import (
    Backoff,
    BedrockChatModel,
    BedrockGuardrailScreen,
    GuardrailRef,
)
from regenzet.adapters.chat_local import LocalChatModel
from regenzet.adapters.clock import ManualClock, SystemClock
from regenzet.adapters.identity import JwtTokenVerifier, LocalKeyPair, LocalTokenIssuer
from regenzet.adapters.links import SignedLinks
from regenzet.adapters.mailers import EmlFileMailer, SmtpMailer, SnsNotificationMailer
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.adapters.media_s3 import S3MediaStorage
from regenzet.adapters.persistence import memory_env, redact
from regenzet.adapters.publishers import JsonLinesPublisher, SnsPublisher
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
from regenzet.application.directory_models import directory_projections
from regenzet.application.idempotency import IdempotencyStore
from regenzet.application.identity import TokenIssuer, TokenVerifier
from regenzet.application.integration_events import IntegrationEventMapper
from regenzet.application.media import MEDIA_PREFIX, PENDING_PREFIX, MediaStorage
from regenzet.application.media_confirm import MediaLimits
from regenzet.application.media_use_cases import MediaDesk
from regenzet.application.notification_policy import Links, MailDispatcher, NotificationPolicy
from regenzet.application.notifications import Mailer
from regenzet.application.operations_models import operations_projections
from regenzet.application.ports import Clock, EventLogReader
from regenzet.application.projections import Follower, ReadModelStore
from regenzet.application.read_models import all_projections
from regenzet.application.relay import Publisher, Relay
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.composition import Composition, VerifyOpener
from regenzet.entrypoints.followers import FollowerRunner
from regenzet.entrypoints.settings import Settings, SettingsError

if TYPE_CHECKING:
    from litestar import Litestar

    from regenzet.entrypoints.http.routing import HttpServices

__all__ = [
    "Backend",
    "Bootstrap",
    "ManualClock",
    "Overrides",
    "aggregate_loader",
    "audit_signer",
    "backend",
    "build_followers",
    "chain_follower",
    "chain_store",
    "chat_assistant",
    "event_log_reader",
    "event_store_env",
    "http_app_from_settings",
    "http_services",
    "idempotency_store",
    "mailer",
    "media_storage",
    "memory_env",
    "notification_followers",
    "openapi_document",
    "postgres_conninfo",
    "prepare_store",
    "publisher",
    "read_model_store",
    "readiness",
    "relay_for",
    "runner_for",
    "signed_links",
    "throwaway_audit_signer",
    "token_issuer",
    "token_verifier",
    "verifier",
    "verify_opener",
    "waker",
    "web_routes",
    "workshop_for",
]


# /ready answers 503 within this many seconds while the store is unreachable.
READY_TIMEOUT = 0.8

# Where a function takes "the store": its backend, or (tools, tests) its eventsourcing env.
Store = Backend | dict[str, str]


def redact_url(url: str) -> str:
    """A database URL with its password hidden (for banners and logs)."""
    return redact(url)


def backend(settings: Settings) -> Backend:
    """The one place that decides the storage technology: Postgres with a database URL,
    otherwise a SQLite file under the data directory."""
    if settings.database_url is None:
        return SqliteBackend(settings.sqlite_path, lock_timeout=settings.pg_lock_timeout)
    return PostgresBackend(
        settings.database_url,
        shares=PoolShares.of(settings.db_pool_size),
        connect_timeout=settings.pg_connect_timeout,
        lock_timeout=settings.pg_lock_timeout,
        idle_in_transaction_timeout=settings.pg_idle_in_transaction_timeout,
        schema=settings.pg_schema,
    )


def _backend(store: Store, settings: Settings | None = None) -> Backend:
    if isinstance(store, Backend):
        return store
    shares = PoolShares.of(settings.db_pool_size) if settings is not None else None
    return backend_for_env(store, shares=shares)


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured store."""
    return backend(settings).env


def prepare_store(settings: Settings) -> None:
    """Fails fast (one line, no traceback) when the configured database is unreachable."""
    backend(settings).setup()


def workshop_for(
    store: Store,
    clock: Clock,
    settings: Settings | None = None,
    *,
    workshop_type: type[Workshop] = Workshop,
    media: MediaDesk | None = None,
) -> Workshop:
    """A workshop on an explicit store and clock (tooling, tests; ``workshop_type`` lets a
    test subclass the workshop's infrastructure seam); ``media`` for its media use cases."""
    extra: dict[str, Any] = {"media": media}
    if settings is not None:
        extra |= {"tax_rate": settings.tax_rate, "currency": settings.currency}
    return _backend(store, settings).workshop(
        workshop_type, clock=clock, vin_decoder=VininfoVinDecoder(), **extra
    )


def postgres_conninfo(env: dict[str, str]) -> dict[str, str]:
    """psycopg connection arguments for the event store's Postgres (from its environment)."""
    store = backend_for_env(env)
    if not isinstance(store, PostgresBackend):
        raise ValueError("not a Postgres environment")
    return store.conninfo


def event_log_reader(store: Store, workshop: Workshop | None) -> EventLogReader:
    """A bulk reader of the workshop's log, on its own connection, for the same store (the
    workshop is needed only for the in-memory store, read through its recorder)."""
    return _backend(store).event_log_reader(workshop)


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


def idempotency_store(
    workshop: Workshop, settings: Settings, store: Store | None = None
) -> IdempotencyStore:
    """Idempotency keys are written by the workshop's recorder with the events (ADR 0024) and
    read back through it: same SQLite file, Postgres schema or memory."""
    retention = timedelta(hours=settings.idempotency_retention_hours)
    chosen = _backend(store, settings) if store is not None else backend_for_env(memory_env())
    return chosen.idempotency_store(workshop, retention)


def readiness(
    workshop: Workshop, timeout: float = READY_TIMEOUT, store: Store | None = None
) -> Callable[[], None]:
    """What ``GET /ready`` runs: raises ``StoreUnavailableError`` unless the store answers
    within ``timeout`` seconds (it does not wait for the pool's longer connection bound)."""
    chosen = _backend(store) if store is not None else _backend_of_workshop(workshop)
    return chosen.readiness(workshop, timeout)


def _backend_of_workshop(workshop: Workshop) -> Backend:
    return backend_for_env(dict(workshop.env))


def read_model_store(store: Store, settings: Settings) -> ReadModelStore:
    """Read models in the same kind of database as the events: a SQLite file of their own
    beside the event store (so followers never hold its write lock), or the Postgres schema."""
    return _backend(store, settings).read_model_store()


def audit_signer(settings: Settings) -> Signer:
    """KMS when ``REGENZET_AUDIT_KMS_KEY_ID`` is set, otherwise the local Ed25519 key."""
    if settings.audit_kms_key_id is not None:
        return KmsAuditSigner(_aws_client("kms"), settings.audit_kms_key_id)
    return LocalAuditSigner.in_directory(settings.data_dir / "audit-keys")


def throwaway_audit_signer() -> Signer:
    """A fresh Ed25519 key in memory only (benchmarks)."""
    return LocalAuditSigner(LocalKeyPair.generate("EdDSA"))


def chain_store(store: Store, settings: Settings | None = None) -> ChainStore:
    """The audit hash chain beside the log: the same SQLite file or Postgres schema."""
    return _backend(store, settings).chain_store()


def chain_follower(
    workshop: Workshop,
    store: Store,
    settings: Settings,
    reader: EventLogReader | None = None,
) -> ChainFollower:
    chosen = _backend(store, settings)
    return ChainFollower(
        chosen.chain_store(),
        reader or chosen.event_log_reader(workshop),
        audit_signer(settings),
        SystemClock(),  # checkpoints carry the real time, even under the demo's business clock
        checkpoint_every=settings.audit_checkpoint_every,
    )


def verifier(workshop: Workshop, store: Store, settings: Settings) -> Verifier:
    chosen = _backend(store, settings)
    return Verifier(chosen.event_log_reader(workshop), chosen.chain_store(), audit_signer(settings))


def ensure_app_login(settings: Settings, role: str, password: str) -> str:
    """Creates the application's login role (or resets its password to ``password``)."""
    return backend(settings).create_login(role, password)


def grant_append_only(settings: Settings, role: str) -> list[str]:
    """Creates the log, snapshots and audit chain, then grants ``role`` append-only access
    to them (``regenzet db grant``; the backend does the DDL and the grants)."""
    return backend(settings).grant_append_only(role, vin_decoder=VininfoVinDecoder())


def _aws_client(service: str) -> Any:
    """A boto3 client from the standard AWS variables (region, credentials, and
    ``AWS_ENDPOINT_URL`` for a local endpoint such as moto), retrying throttling and 5xx."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def _s3_client(*, signed: bool = True) -> Any:
    """S3 for presigning: SigV4 and virtual-hosted addressing, so the URLs name the regional
    endpoint (``https://BUCKET.s3.REGION.amazonaws.com/``); boto3's default names the global
    one for a presigned POST, which S3 answers with a 307 the browser's CORS POST does not
    follow. The region, credentials and any ``AWS_ENDPOINT_URL`` come from the environment;
    an endpoint that is not AWS's (moto's server, MinIO) has no bucket subdomains, so it is
    addressed by path."""
    from urllib.parse import urlsplit

    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    def client(addressing: str) -> Any:
        return boto3.client(
            "s3",
            config=Config(
                signature_version="s3v4" if signed else UNSIGNED,
                s3={"addressing_style": addressing},
                retries={"mode": "standard", "max_attempts": 5},
            ),
        )

    s3 = client("virtual")
    host = urlsplit(str(s3.meta.endpoint_url)).hostname or ""
    return s3 if host.endswith(".amazonaws.com") else client("path")


def media_browser_origins(settings: Settings) -> tuple[str, ...]:
    """The origins a browser posts uploads to and loads media from, for the web app's CSP:
    the bucket's as the S3 adapter's client names it in its URLs (read off an unsigned URL,
    so no credentials are needed), none when the API serves media itself."""
    from urllib.parse import urlsplit

    media = settings.media
    if media.backend != "s3" or media.bucket is None:
        return ()
    s3 = _s3_client(signed=False)
    urls = (
        s3.generate_presigned_post(media.bucket, PENDING_PREFIX + "origin")["url"],
        s3.generate_presigned_url(
            "get_object", Params={"Bucket": media.bucket, "Key": MEDIA_PREFIX + "origin"}
        ),
    )
    return tuple(sorted({f"{(p := urlsplit(url)).scheme}://{p.netloc}" for url in urls}))


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


def media_storage(settings: Settings) -> MediaStorage:
    """The one choice of media backend: S3 with ``REGENZET_MEDIA_BACKEND=s3``, otherwise files
    under ``<data dir>/media`` with tickets signed by a key in ``<data dir>/keys``. Tickets
    and links expire by the real time, even under the demo's business clock."""
    from regenzet.entrypoints.http.media_files import DOWNLOAD_PATH, UPLOAD_PATH

    media = settings.media
    if media.backend == "s3":
        if media.bucket is None or media.kms_key_id is None:  # refused by the settings too
            raise SettingsError("REGENZET_MEDIA_BUCKET and REGENZET_MEDIA_KMS_KEY_ID are needed")
        return S3MediaStorage(_s3_client(), media.bucket, media.kms_key_id)
    return LocalMediaStorage(
        settings.data_dir / "media",
        LocalMediaStorage.secret_in(settings.data_dir / "keys"),
        SystemClock(),
        upload_url=UPLOAD_PATH,
        download_url=DOWNLOAD_PATH,
        upload_seconds=media.upload_seconds,
    )


def media_limits(settings: Settings) -> MediaLimits:
    """The settings' media limits as the use cases take them."""
    media = settings.media
    return MediaLimits(
        max_photo_bytes=media.max_photo_bytes,
        max_video_bytes=media.max_video_bytes,
        photo_types=frozenset(media.photo_types),
        video_types=frozenset(media.video_types),
        ticket_seconds=media.ticket_seconds,
        url_seconds=media.url_seconds,
        confirm_concurrency=media.confirm_concurrency,
    )


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
    workshop: Workshop,
    store: Store,
    settings: Settings,
    positions: ReadModelStore,
    reader: EventLogReader | None = None,
) -> Relay:
    return Relay(
        positions,
        reader or event_log_reader(store, workshop),
        workshop.decode_rows,
        IntegrationEventMapper(aggregate_loader(workshop)),
        publisher(settings),
    )


def notification_followers(
    workshop: Workshop,
    env: Store,
    settings: Settings,
    store: ReadModelStore,
    reader: EventLogReader | None = None,
) -> tuple[Follower, MailDispatcher]:
    """The email policy (a read-model follower writing the outbox) and its dispatcher."""

    links = signed_links(settings, SystemClock())
    policy = NotificationPolicy(
        aggregate_loader(workshop),
        workshop.repository.get,
        Links(quote=links.quote, portal_url=f"{settings.public_url}/portal"),
        SystemClock(),
    )
    follower = Follower(
        policy, store, reader or event_log_reader(env, workshop), workshop.decode_rows
    )
    store.prepare(policy)
    return follower, MailDispatcher(store, mailer(settings), SystemClock())


def build_followers(
    workshop: Workshop,
    store: Store,
    settings: Settings,
    reader: EventLogReader | None = None,
) -> tuple[list[Follower], ReadModelStore]:
    """One follower per read model, sharing a store and the log reader."""
    chosen = _backend(store, settings)
    read_models = chosen.read_model_store()
    reader = reader or chosen.event_log_reader(workshop)

    load = aggregate_loader(workshop)
    followers = [
        Follower(projection, read_models, reader, workshop.decode_rows)
        for projection in [
            *all_projections(load),
            *operations_projections(load),
            *directory_projections(load),
        ]
    ]
    for follower in followers:
        follower.store.prepare(follower.projection)
    return followers, read_models


def waker(workshop: Workshop, store: Store, settings: Settings | None = None) -> Waker:
    """What wakes followers when the log grows: NOTIFY on Postgres, polling otherwise."""
    return _backend(store, settings).waker(workshop)


def runner_for(
    workshop: Workshop, store: Store, settings: Settings, *, batch: int | None = None
) -> FollowerRunner:
    """Every follower of the log: the read models, the audit hash chain, the email policy and
    its dispatcher, and, when integration events go to the local file (no SNS topic), the
    relay. With SNS the relay is its own service (``regenzet relay run``). They run in one
    thread, so they share one log reader (one connection of the budget)."""
    chosen = _backend(store, settings)
    reader = chosen.event_log_reader(workshop)
    followers, read_models = build_followers(workshop, chosen, settings, reader)
    chain = chain_follower(workshop, chosen, settings, reader)
    policy, dispatcher = notification_followers(workshop, chosen, settings, read_models, reader)
    extra: list[Any] = [chain, policy, dispatcher]
    if settings.sns_topic_arn is None:
        extra.append(relay_for(workshop, chosen, settings, read_models, reader))
    runner = FollowerRunner([*followers, *extra], chosen.waker(workshop))
    if batch is not None:  # events per transaction, for every follower that reads in batches
        for follower in runner.followers:
            if hasattr(follower, "batch"):
                follower.batch = batch
    runner.read_models = read_models
    runner.chain = chain
    # Closed by stop(): the runner made them (the read-model store is shared with the API,
    # whose shutdown hook runs stop() after the last request).
    runner.closables = [chain.store, reader, read_models]
    return runner


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
    env: Store,
    verifier: TokenVerifier | None = None,
    read_models: ReadModelStore | None = None,
    audit: Verifier | None = None,
    chat_model: ChatModel | None = None,
    media: MediaStorage | None = None,
) -> HttpServices:
    """Everything the HTTP handlers need, for one workshop and store (and the settings' media
    storage unless ``media`` is given; its signed routes when it is the local disk)."""
    from regenzet.application.quote_approval import QuoteApprovals
    from regenzet.entrypoints.http.routing import HttpServices
    from regenzet.entrypoints.http.security import Gatekeeper, RateLimiter, parse_networks

    chosen = _backend(env, settings)
    assistant, turns = (
        chat_assistant(settings, workshop, read_models, model=chat_model)
        if read_models is not None
        else (None, None)
    )
    retention = timedelta(hours=settings.idempotency_retention_hours)
    media = media if media is not None else media_storage(settings)
    return HttpServices(
        assistant=assistant,
        chat_turns=turns,
        chat_limiter=RateLimiter(settings.chat.rate_limit_per_subject),
        read_models=read_models,
        audit=audit,
        workshop=workshop,
        access=ObjectAccess(workshop),
        idempotency=chosen.idempotency_store(workshop, retention),
        ready=chosen.readiness(workshop, READY_TIMEOUT),
        clock=workshop.clock,
        gatekeeper=Gatekeeper(
            verifier=verifier or token_verifier(settings),
            per_ip=RateLimiter(settings.rate_limit_per_ip),
            per_subject=RateLimiter(settings.rate_limit_per_subject),
            trusted_proxies=parse_networks(settings.trusted_proxies),
        ),
        # Links expire by the workshop's clock, the one the quote emails are dated by.
        quote_approvals=QuoteApprovals(workshop, signed_links(settings, workshop.clock)),
        media=media,
        media_files=media if isinstance(media, LocalMediaStorage) else None,
    )


@attrs.frozen
class Overrides:
    """What a test (or the demo) replaces in the composition; ``None`` keeps the default."""

    backend: Store | None = None  # a backend, or an eventsourcing env (say a test schema's)
    clock: Clock | None = None  # the demo's and tests' manual clock
    token_verifier: TokenVerifier | None = None
    chat_model: ChatModel | None = None
    workshop_type: type[Workshop] = Workshop
    # Media storage (say a local one on a manual clock, or S3 on moto).
    media_storage: MediaStorage | None = None
    # Run the followers in a background thread (the settings' choice by default); False
    # builds them for the caller to step (tests catch up explicitly).
    followers_in_process: bool | None = None


@attrs.define
class HttpParts:
    """What :meth:`Bootstrap.http_parts` built: the services, and what keeps them current."""

    services: HttpServices
    followers: list[Follower]
    read_models: ReadModelStore
    audit: Verifier
    runner: FollowerRunner | None
    closers: list[Callable[[], None]]

    def close(self) -> None:
        for closer in self.closers:
            try:
                closer()
            except Exception:  # shutting down: report, close the rest
                logging.getLogger("regenzet").exception("closing %r failed", closer)


class Bootstrap:
    """One process's composition: the settings, the chosen backend and the workshop on it;
    everything else is built on request by the functions above, on this backend."""

    def __init__(self, settings: Settings, overrides: Overrides | None = None) -> None:
        self.settings = settings
        self.overrides = overrides or Overrides()
        store = self.overrides.backend
        self.backend = _backend(store, settings) if store is not None else backend(settings)
        self._workshop: Workshop | None = None
        self._media: MediaStorage | None = None

    @classmethod
    def from_env(cls, overrides: Overrides | None = None) -> Bootstrap:
        return cls(Settings.from_env(), overrides)

    @property
    def clock(self) -> Clock:
        return self.overrides.clock or self.workshop.clock

    @property
    def workshop(self) -> Workshop:
        """The application on the backend, built once (its tables created when missing)."""
        if self._workshop is None:
            self.backend.setup()
            self._workshop = workshop_for(
                self.backend,
                self.overrides.clock or SystemClock(),
                self.settings,
                workshop_type=self.overrides.workshop_type,
                # Resolved on first use: a process that never touches media creates nothing.
                media=MediaDesk(
                    lambda: self.media_storage, media_limits(self.settings), SystemClock()
                ),
            )
        return self._workshop

    def close(self) -> None:
        if self._workshop is not None:
            self._workshop.close()
            self._workshop = None

    def read_model_store(self) -> ReadModelStore:
        return self.backend.read_model_store()

    @property
    def media_storage(self) -> MediaStorage:
        """Where media live (the override, or the settings' backend), built once."""
        if self._media is None:
            self._media = self.overrides.media_storage or media_storage(self.settings)
        return self._media

    def event_log_reader(self) -> EventLogReader:
        return self.backend.event_log_reader(self.workshop)

    def chain_store(self) -> ChainStore:
        return self.backend.chain_store()

    def audit_signer(self) -> Signer:
        return audit_signer(self.settings)

    def chain_follower(self) -> ChainFollower:
        return chain_follower(self.workshop, self.backend, self.settings)

    def verifier(self) -> Verifier:
        return verifier(self.workshop, self.backend, self.settings)

    def build_followers(self) -> tuple[list[Follower], ReadModelStore]:
        return build_followers(self.workshop, self.backend, self.settings)

    def runner(self, *, batch: int | None = None) -> FollowerRunner:
        return runner_for(self.workshop, self.backend, self.settings, batch=batch)

    def waker(self) -> Waker:
        return self.backend.waker(self.workshop)

    def relay(self, positions: ReadModelStore) -> Relay:
        return relay_for(self.workshop, self.backend, self.settings, positions)

    def notification_followers(self, store: ReadModelStore) -> tuple[Follower, MailDispatcher]:
        return notification_followers(self.workshop, self.backend, self.settings, store)

    def verify_opener(self) -> VerifyOpener | None:
        return verify_opener(self.backend)

    def create_login(self, role: str, password: str) -> str:
        self.backend.setup()
        return self.backend.create_login(role, password)

    def grant_append_only(self, role: str) -> list[str]:
        self.backend.setup()
        return self.backend.grant_append_only(role, vin_decoder=VininfoVinDecoder())

    def http_parts(self) -> HttpParts:
        """The API's services on this backend, with the followers that keep the read models
        current: in a background thread when the settings (or overrides) say so, otherwise
        built for the caller (tests step them) and only checked against their schema."""
        settings = self.settings
        workshop = self.workshop
        in_process = self.overrides.followers_in_process
        if in_process is None:
            in_process = settings.followers_in_process
        closers: list[Callable[[], None]] = []
        runner: FollowerRunner | None = None
        if in_process:
            # The read models are kept up to date by followers in a background thread of this
            # process (a separate ``regenzet followers run`` may follow too: they take turns).
            runner = self.runner()
            for follower in runner.followers:
                follower.check_schema()  # an outdated read model stops start-up, one line
            followers: list[Follower] = [f for f in runner.followers if isinstance(f, Follower)]
            if runner.read_models is None:
                raise RuntimeError("the runner was built without its read-model store")
            read_models = runner.read_models
            closers.append(runner.stop)  # the batch in flight commits, then it closes its own
        else:
            # REGENZET_FOLLOWERS_IN_PROCESS=off: the followers service keeps the read models;
            # the API only reads them, and still refuses to start on an outdated schema.
            followers, read_models = self.build_followers()
            for follower in followers:
                follower.check_schema()
            closers.append(read_models.close)
            if followers:
                closers.append(followers[0].reader.close)
        audit = self.verifier()
        services = http_services(
            settings,
            workshop,
            self.backend,
            verifier=self.overrides.token_verifier,
            read_models=read_models,
            audit=audit,
            chat_model=self.overrides.chat_model,
            media=self.media_storage,
        )
        for closable in (audit.store, audit.reader, services.idempotency):
            closers.append(closable.close)
        return HttpParts(services, followers, read_models, audit, runner, closers)

    def http_app(self, parts: HttpParts | None = None) -> Litestar:
        """The API for the configured store (what ``regenzet serve`` runs)."""
        from regenzet.entrypoints.http.app import create_app

        parts = parts or self.http_parts()
        return create_app(
            parts.services,
            cors_origins=self.settings.cors_origins,
            extra_routes=web_routes(self.settings, self.workshop.clock),
            on_startup=[parts.runner.start] if parts.runner is not None else [],
            on_shutdown=[parts.close],
        )


def verify_opener(store: Store) -> VerifyOpener | None:
    """A picklable ``open()`` of a log reader and the chain for verifier processes, or None
    when the store cannot be opened from another process (memory)."""
    chosen = _backend(store)
    if not chosen.shares_across_processes:
        return None
    return functools.partial(_open_for_verify, chosen.env)


def _open_for_verify(env: dict[str, str]) -> tuple[EventLogReader, ChainStore]:
    chosen = backend_for_env(env)
    return chosen.event_log_reader(None), chosen.chain_store()


_COMPOSES: type[Composition] = Bootstrap  # the runtime's port, checked by mypy


def http_app_from_settings(settings: Settings) -> Litestar:
    """The API for the configured store (what ``regenzet serve`` and the ASGI factory run)."""
    return Bootstrap(settings).http_app()


def web_routes(settings: Settings, clock: Clock) -> list[Any]:
    """The routes outside the API: the local sign-in (only when tokens are signed locally) and
    the built web app with its ``/config.json`` (how the browser signs in)."""
    from regenzet.entrypoints.http.local_sign_in import local_sign_in_router
    from regenzet.entrypoints.http.spa import WebConfig, spa_handlers

    routes: list[Any] = []
    if settings.jwks_url is None:
        routes.append(local_sign_in_router(token_issuer(settings), clock))
        config = WebConfig(auth="local", media_origins=media_browser_origins(settings))
    else:
        # Cognito: the issuer is the OIDC authority and the ID token's audience the app client.
        config = WebConfig(
            auth="oidc",
            oidc_authority=settings.jwt_issuer,
            oidc_client_id=settings.jwt_audience,
            media_origins=media_browser_origins(settings),
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
        workshop = workshop_for(memory_env(), clock, settings)
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
