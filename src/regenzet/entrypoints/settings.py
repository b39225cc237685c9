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
from urllib.parse import urlsplit

import attrs

from regenzet.domain.common import is_canonical_decimal_text


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable."""


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


@attrs.frozen
class Settings:
    data_dir: Path
    database_url: str | None = attrs.field(repr=False)  # may hold a password
    # Postgres pool: explicit sizes and timeouts (a starved pool otherwise blocks for
    # 10 x connect timeout). POSTGRES_ENABLE_DB_FUNCTIONS is never set (ADR 0004).
    pg_pool_size: int = 5
    pg_max_overflow: int = 10
    pg_connect_timeout: int = 5
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
        return cls(
            data_dir=Path(env.get("REGENZET_DATA_DIR", "").strip() or "var"),
            database_url=url,
            pg_pool_size=_int(env, "REGENZET_PG_POOL_SIZE", 5, minimum=1),
            pg_max_overflow=_int(env, "REGENZET_PG_MAX_OVERFLOW", 10),
            pg_connect_timeout=_int(env, "REGENZET_PG_CONNECT_TIMEOUT", 5, minimum=1),
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
        )
