"""Every setting ReGenZet reads from the environment, read here and nowhere else.

Nothing is read at import time: ``Settings.from_env()`` is called by the composition root.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import attrs

from regenzet.application.chat import ChatLimits
from regenzet.application.media import MAX_TICKET_SECONDS
from regenzet.domain.common import is_canonical_decimal_text

# The loop's bounds default to the application's own defaults (one place for the numbers).
_LIMITS = ChatLimits()


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable."""


# The most connections one process opens to Postgres (REGENZET_DB_POOL_SIZE), and the least
# that still gives every store one (adapters.backends.PoolShares).
DEFAULT_DB_POOL_SIZE = 20
MIN_DB_POOL_SIZE = 11


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def _schema(raw: str) -> str:
    value = raw.strip() or "public"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise SettingsError(
            "REGENZET_PG_SCHEMA must be a lower-case identifier (letters, digits, underscore)"
        )
    return value


def _arn(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith("arn:") or raw.count(":") < 5:
        raise SettingsError(f"{name} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return raw


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise SettingsError("REGENZET_PUBLIC_URL must be an http(s):// URL")
    return raw.rstrip("/")


def _link_secret(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if len(raw.strip()) < 32:
        raise SettingsError("REGENZET_LINK_SECRET must be at least 32 characters")
    return raw.strip()


def _with_password(url: str, password: str) -> str:
    """The URL with its password replaced (URL-quoted: a generated secret may hold @, : or /).

    Containers get the password from a secret (ECS injects one variable per secret field) and
    the rest of the URL as plain configuration."""
    split = urlsplit(url)
    user = split.username or ""
    host = split.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if split.port:
        netloc += f":{split.port}"
    return urlunsplit((split.scheme, netloc, split.path, split.query, split.fragment))


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be on or off (1/0, true/false), not {raw!r}")


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _trusted_proxies(raw: str) -> tuple[str, ...]:
    values = _list(raw)
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise SettingsError(
                f"REGENZET_TRUSTED_PROXIES must list IP addresses or CIDR ranges, not {value!r}"
            ) from None
    return values


def _float(environ: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}")
    return value


@attrs.frozen
class ChatSettings:
    """The assistant (``POST /api/v1/chat``, ADR 0027/0028).

    ``model`` is ``local`` (the deterministic offline assistant, the default) or ``bedrock``
    (Converse with tool use; needs ``bedrock_model_id``). The loop's bounds apply to both.
    """

    model: str = "local"
    bedrock_model_id: str | None = None
    bedrock_region: str | None = None
    bedrock_streaming: bool = True
    temperature: float | None = None
    top_p: float | None = None
    guardrail_id: str | None = None
    guardrail_version: str = "DRAFT"
    max_attempts: int = 4
    read_timeout_seconds: int = 60
    max_tool_rounds: int = _LIMITS.max_tool_rounds
    max_tokens_per_turn: int = _LIMITS.max_tokens_per_turn
    max_output_tokens: int = _LIMITS.max_output_tokens
    max_seconds: int = int(_LIMITS.max_seconds)
    rate_limit_per_subject: int = 20  # questions per minute per subject (0: off)
    retention_days: int = 90

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChatSettings:
        model = env.get("REGENZET_CHAT_MODEL", "").strip().lower() or "local"
        if model not in {"local", "bedrock"}:
            raise SettingsError("REGENZET_CHAT_MODEL must be local or bedrock")
        model_id = env.get("REGENZET_BEDROCK_MODEL_ID", "").strip() or None
        if model == "bedrock" and model_id is None:
            raise SettingsError(
                "REGENZET_BEDROCK_MODEL_ID must be set with REGENZET_CHAT_MODEL=bedrock "
                "(a model id or inference profile, e.g. eu.anthropic.claude-sonnet-4-...)"
            )
        streaming = env.get("REGENZET_BEDROCK_STREAMING", "true").strip().lower()
        if streaming not in {"true", "false", "1", "0"}:
            raise SettingsError("REGENZET_BEDROCK_STREAMING must be true or false")
        return cls(
            model=model,
            bedrock_model_id=model_id,
            bedrock_region=env.get("REGENZET_BEDROCK_REGION", "").strip() or None,
            bedrock_streaming=streaming in {"true", "1"},
            temperature=_float(env, "REGENZET_CHAT_TEMPERATURE", 0.0, 1.0),
            top_p=_float(env, "REGENZET_CHAT_TOP_P", 0.0, 1.0),
            guardrail_id=env.get("REGENZET_BEDROCK_GUARDRAIL_ID", "").strip() or None,
            guardrail_version=env.get("REGENZET_BEDROCK_GUARDRAIL_VERSION", "").strip() or "DRAFT",
            max_attempts=_int(env, "REGENZET_BEDROCK_MAX_ATTEMPTS", 4, minimum=1),
            read_timeout_seconds=_int(env, "REGENZET_BEDROCK_READ_TIMEOUT", 60, minimum=1),
            max_tool_rounds=_int(
                env, "REGENZET_CHAT_MAX_TOOL_ROUNDS", _LIMITS.max_tool_rounds, minimum=1
            ),
            max_tokens_per_turn=_int(
                env, "REGENZET_CHAT_MAX_TOKENS_PER_TURN", _LIMITS.max_tokens_per_turn, minimum=1
            ),
            max_output_tokens=_int(
                env, "REGENZET_CHAT_MAX_OUTPUT_TOKENS", _LIMITS.max_output_tokens, minimum=1
            ),
            max_seconds=_int(env, "REGENZET_CHAT_MAX_SECONDS", int(_LIMITS.max_seconds), minimum=1),
            rate_limit_per_subject=_int(env, "REGENZET_CHAT_RATE_LIMIT_PER_SUBJECT", 20),
            retention_days=_int(env, "REGENZET_CHAT_RETENTION_DAYS", 90, minimum=1),
        )


PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")
VIDEO_TYPES = ("video/mp4", "video/quicktime")


@attrs.frozen
class MediaSettings:
    """Inspection photos and videos, check-in photos (issue 13, ADR 0040).

    ``backend`` is ``local`` (files under ``<data dir>/media``, tickets signed by the API,
    the default) or ``s3`` (presigned POST/GET on ``bucket``, encrypted with ``kms_key_id``;
    the region and credentials come from the standard AWS variables).
    """

    backend: str = "local"
    bucket: str | None = None
    kms_key_id: str | None = None
    max_photo_bytes: int = 25 * 1024 * 1024
    max_video_bytes: int = 200 * 1024 * 1024
    ticket_seconds: int = MAX_TICKET_SECONDS
    url_seconds: int = 300
    pending_hours: int = 24
    # The local upload route's limit on receiving one body, in seconds.
    upload_seconds: int = 600
    # Confirms decoding at once per process (REGENZET_MEDIA_CONFIRM_CONCURRENCY, ADR 0042).
    confirm_concurrency: int = 2
    photo_types: tuple[str, ...] = PHOTO_TYPES
    video_types: tuple[str, ...] = VIDEO_TYPES

    def max_bytes_for(self, content_type: str) -> int | None:
        """The size limit for an allowed type; None for a type that is not allowed."""
        if content_type in self.photo_types:
            return self.max_photo_bytes
        if content_type in self.video_types:
            return self.max_video_bytes
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MediaSettings:
        backend = env.get("REGENZET_MEDIA_BACKEND", "").strip().lower() or "local"
        if backend not in {"local", "s3"}:
            raise SettingsError("REGENZET_MEDIA_BACKEND must be local or s3")
        bucket = env.get("REGENZET_MEDIA_BUCKET", "").strip() or None
        kms_key_id = env.get("REGENZET_MEDIA_KMS_KEY_ID", "").strip() or None
        if backend == "s3" and (bucket is None or kms_key_id is None):
            raise SettingsError(
                "REGENZET_MEDIA_BUCKET and REGENZET_MEDIA_KMS_KEY_ID must be set with "
                "REGENZET_MEDIA_BACKEND=s3 (uploads are encrypted with that KMS key)"
            )
        ticket_seconds = _int(env, "REGENZET_MEDIA_TICKET_SECONDS", MAX_TICKET_SECONDS, minimum=1)
        if ticket_seconds > MAX_TICKET_SECONDS:
            raise SettingsError(
                f"REGENZET_MEDIA_TICKET_SECONDS must be at most {MAX_TICKET_SECONDS}"
            )
        url_seconds = _int(env, "REGENZET_MEDIA_URL_SECONDS", 300, minimum=1)
        if url_seconds > 3600:
            raise SettingsError("REGENZET_MEDIA_URL_SECONDS must be at most 3600")
        return cls(
            backend=backend,
            bucket=bucket,
            kms_key_id=kms_key_id,
            max_photo_bytes=_int(
                env, "REGENZET_MEDIA_MAX_PHOTO_BYTES", 25 * 1024 * 1024, minimum=1
            ),
            max_video_bytes=_int(
                env, "REGENZET_MEDIA_MAX_VIDEO_BYTES", 200 * 1024 * 1024, minimum=1
            ),
            ticket_seconds=ticket_seconds,
            url_seconds=url_seconds,
            pending_hours=_int(env, "REGENZET_MEDIA_PENDING_HOURS", 24, minimum=1),
            upload_seconds=_int(env, "REGENZET_MEDIA_UPLOAD_SECONDS", 600, minimum=1),
            confirm_concurrency=_int(env, "REGENZET_MEDIA_CONFIRM_CONCURRENCY", 2, minimum=1),
        )


@attrs.frozen
class Settings:
    data_dir: Path
    database_url: str | None = attrs.field(repr=False)  # may hold a password
    # Postgres: one connection budget per process, split among the event store, the read
    # models, the audit chain and the log readers (ADR 0034), and explicit timeouts. A request
    # waits at most the connect timeout for a connection and the lock timeout for a lock,
    # then gets 503 (ADR 0024). POSTGRES_ENABLE_DB_FUNCTIONS is never set (ADR 0004).
    db_pool_size: int = DEFAULT_DB_POOL_SIZE
    pg_connect_timeout: int = 4
    pg_lock_timeout: int = 5
    pg_idle_in_transaction_timeout: int = 10
    # Tables live in this schema (created if missing); "public" by default.
    pg_schema: str = "public"
    tax_rate: Decimal = Decimal("0.21")
    currency: str = "EUR"
    # Bearer tokens: issuer and audience are checked exactly. Without a JWKS URL tokens are
    # signed by a key pair generated under data_dir/keys; with one (Cognito) that endpoint's
    # keys are trusted and issuer/audience must be set to the user pool and app client.
    jwt_issuer: str = "regenzet-local"
    jwt_audience: str = "regenzet-api"
    jwks_url: str | None = None
    # HTTP API: requests per minute per client address and per authenticated subject (0 turns
    # a limit off); proxies whose X-Forwarded-For is believed; how long idempotency keys live;
    # browser origins allowed by CORS (the web app).
    rate_limit_per_ip: int = 1200
    rate_limit_per_subject: int = 600
    trusted_proxies: tuple[str, ...] = ()
    idempotency_retention_hours: int = 24
    # Audit chain: a signed checkpoint every N linked events; KMS key (ARN/alias) to sign
    # with in production instead of the local Ed25519 key.
    audit_checkpoint_every: int = 10_000
    audit_kms_key_id: str | None = None
    # Integration events: SNS topic (FIFO) for the relay; without it, events.jsonl locally.
    sns_topic_arn: str | None = None
    # Email: SNS topic the Lambda renders and sends from; else SMTP; else .eml files.
    notifications_topic_arn: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = attrs.field(default=None, repr=False)
    mail_from: str = "ReGenZet Garage <garage@regenzet.local>"
    public_url: str = "http://127.0.0.1:8000"
    link_secret: str | None = attrs.field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    chat: ChatSettings = attrs.field(factory=ChatSettings)
    media: MediaSettings = attrs.field(factory=MediaSettings)
    # The API runs the followers in a background thread (a laptop needs no second process).
    # Off in production, where ``regenzet followers run`` is its own service: API tasks scale
    # with traffic and should not each follow the log.
    followers_in_process: bool = True
    # The built web app (web/dist) served at / by the API; None serves no app.
    web_dist: Path | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "regenzet.db"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("REGENZET_DATABASE_URL", "").strip() or None
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                "REGENZET_DATABASE_URL must be a postgresql:// URL "
                "(leave it unset for the embedded SQLite store)"
            )
        password = env.get("REGENZET_DATABASE_PASSWORD") or None
        if password is not None:
            if url is None:
                raise SettingsError(
                    "REGENZET_DATABASE_PASSWORD is set but REGENZET_DATABASE_URL is not"
                )
            url = _with_password(url, password)
        raw_tax = env.get("REGENZET_TAX_RATE", "0.21").strip()
        try:
            tax_rate = Decimal(raw_tax)
        except InvalidOperation:
            raise SettingsError(
                f"REGENZET_TAX_RATE must be a decimal such as 0.21, not {raw_tax!r}"
            ) from None
        if not tax_rate.is_finite() or not Decimal(0) <= tax_rate <= Decimal(1):
            raise SettingsError("REGENZET_TAX_RATE must be between 0 and 1")
        if not is_canonical_decimal_text(str(tax_rate)):
            # The domain refuses a non-canonical rate at every invoice (ADR 0013): say so now.
            raise SettingsError(
                "REGENZET_TAX_RATE must be a plain decimal with at most 6 decimals, "
                f"such as 0.21, not {raw_tax!r}"
            )
        jwks_url = env.get("REGENZET_JWKS_URL", "").strip() or None
        jwt_issuer = env.get("REGENZET_JWT_ISSUER", "").strip()
        jwt_audience = env.get("REGENZET_JWT_AUDIENCE", "").strip()
        if jwks_url is not None:
            parts = urlsplit(jwks_url)
            loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
            if not parts.hostname or not (parts.scheme == "https" or loopback):
                raise SettingsError("REGENZET_JWKS_URL must be an https:// URL")
            if not jwt_issuer or not jwt_audience:
                raise SettingsError(
                    "REGENZET_JWT_ISSUER and REGENZET_JWT_AUDIENCE must be set with "
                    "REGENZET_JWKS_URL (the user pool's issuer URL and the app client id)"
                )
        for replaced in ("REGENZET_PG_POOL_SIZE", "REGENZET_PG_MAX_OVERFLOW"):
            if env.get(replaced, "").strip():
                raise SettingsError(
                    f"{replaced} was replaced by REGENZET_DB_POOL_SIZE (the process's whole "
                    "connection budget, split among its stores)"
                )
        return cls(
            data_dir=Path(env.get("REGENZET_DATA_DIR", "").strip() or "var"),
            database_url=url,
            db_pool_size=_int(
                env, "REGENZET_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE, minimum=MIN_DB_POOL_SIZE
            ),
            pg_connect_timeout=_int(env, "REGENZET_PG_CONNECT_TIMEOUT", 4, minimum=1),
            pg_lock_timeout=_int(env, "REGENZET_PG_LOCK_TIMEOUT", 5, minimum=1),
            pg_idle_in_transaction_timeout=_int(
                env, "REGENZET_PG_IDLE_IN_TX_TIMEOUT", 10, minimum=1
            ),
            pg_schema=_schema(env.get("REGENZET_PG_SCHEMA", "")),
            tax_rate=tax_rate,
            currency=env.get("REGENZET_CURRENCY", "EUR").strip() or "EUR",
            jwt_issuer=jwt_issuer or "regenzet-local",
            jwt_audience=jwt_audience or "regenzet-api",
            jwks_url=jwks_url,
            rate_limit_per_ip=_int(env, "REGENZET_RATE_LIMIT_PER_IP", 1200),
            rate_limit_per_subject=_int(env, "REGENZET_RATE_LIMIT_PER_SUBJECT", 600),
            trusted_proxies=_trusted_proxies(env.get("REGENZET_TRUSTED_PROXIES", "")),
            idempotency_retention_hours=_int(
                env, "REGENZET_IDEMPOTENCY_RETENTION_HOURS", 24, minimum=1
            ),
            cors_origins=_list(env.get("REGENZET_CORS_ORIGINS", "")),
            audit_checkpoint_every=_int(env, "REGENZET_AUDIT_CHECKPOINT_EVERY", 10_000, minimum=1),
            audit_kms_key_id=env.get("REGENZET_AUDIT_KMS_KEY_ID", "").strip() or None,
            sns_topic_arn=_arn(env, "REGENZET_SNS_TOPIC_ARN"),
            notifications_topic_arn=_arn(env, "REGENZET_NOTIFICATIONS_TOPIC_ARN"),
            smtp_host=env.get("REGENZET_SMTP_HOST", "").strip() or None,
            smtp_port=_int(env, "REGENZET_SMTP_PORT", 587, minimum=1),
            smtp_username=env.get("REGENZET_SMTP_USERNAME", "").strip() or None,
            smtp_password=env.get("REGENZET_SMTP_PASSWORD") or None,
            mail_from=env.get("REGENZET_MAIL_FROM", "").strip()
            or "ReGenZet Garage <garage@regenzet.local>",
            public_url=_url(env.get("REGENZET_PUBLIC_URL", "").strip() or "http://127.0.0.1:8000"),
            link_secret=_link_secret(env.get("REGENZET_LINK_SECRET")),
            chat=ChatSettings.from_env(env),
            media=MediaSettings.from_env(env),
            followers_in_process=_flag(env, "REGENZET_FOLLOWERS_IN_PROCESS", True),
            web_dist=_web_dist(env.get("REGENZET_WEB_DIST")),
        )


def _web_dist(raw: str | None) -> Path | None:
    """``REGENZET_WEB_DIST``: where the built web app is (default ``web/dist``); ``off`` serves
    none (an API-only task behind a CDN that hosts the app)."""
    value = (raw or "").strip()
    if value.lower() == "off":
        return None
    return Path(value or "web/dist")
