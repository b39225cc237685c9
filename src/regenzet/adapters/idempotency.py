"""Idempotency keys beside the events (ADR 0024): the table, how its rows are written inside
the event recorders' transactions, and the ``IdempotencyStore`` that reads them back.

The recorders (``regenzet.adapters.persistence``) write a key row in the transaction that
inserts the command's events; this module holds what they share: the table's statements, the
row encoding and :func:`upsert_rule`. :class:`RecorderIdempotencyStore` reads and prunes keys
through any recorder that implements ``KeyRecorder`` (memory, SQLite, Postgres); one contract
suite, tests/integration/test_idempotency_store_contract.py, runs against all three.

A row is (scope, key) → fingerprint, created_at, response. ``claimed_at`` and a NULL
``status_code`` are left over from the three-step claim of ADR 0008: such a row (a claim whose
command never completed) is dead, and a new commit with that key overwrites it, as it does an
expired row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from regenzet.application.idempotency import (
    DEFAULT_RETENTION,
    KeyRecord,
    KeyRecorder,
    Lookup,
    StoredResponse,
    decide,
)

TABLE = "regenzet_idempotency_keys"

# SQLite (the table name is a constant, never input). Timestamps are epoch seconds (REAL).
SQLITE_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " created_at REAL NOT NULL, claimed_at REAL NOT NULL,"
    " status_code INTEGER, headers TEXT, body BLOB,"
    " PRIMARY KEY (scope, key))"
)
SQLITE_SELECT = (
    "SELECT fingerprint, created_at, status_code, headers, body"  # noqa: S608
    f" FROM {TABLE} WHERE scope = ? AND key = ? AND status_code IS NOT NULL"
)
# Inserts the key, or overwrites a dead row (unfinished legacy claim, or past its retention);
# a live row is left alone and the statement changes nothing (the caller then rolls back).
SQLITE_UPSERT = (
    f"INSERT INTO {TABLE} AS k"  # noqa: S608
    " (scope, key, fingerprint, created_at, claimed_at, status_code, headers, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " created_at = excluded.created_at, claimed_at = excluded.claimed_at,"
    " status_code = excluded.status_code, headers = excluded.headers, body = excluded.body"
    " WHERE k.status_code IS NULL OR k.created_at <= ?"
)
SQLITE_PURGE = f"DELETE FROM {TABLE} WHERE created_at <= ? OR status_code IS NULL"  # noqa: S608


def postgres_create(table: str) -> str:
    """``table`` is the quoted, schema-qualified name."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,"
        " created_at timestamptz NOT NULL, claimed_at timestamptz NOT NULL,"
        " status_code integer, headers jsonb, body bytea,"
        " PRIMARY KEY (scope, key))"
    )


def postgres_select(table: str) -> str:
    return (
        "SELECT fingerprint, created_at, status_code, headers, body"  # noqa: S608
        f" FROM {table} WHERE scope = %s AND key = %s AND status_code IS NOT NULL"
    )


def postgres_upsert(table: str) -> str:
    return (
        f"INSERT INTO {table} AS k"  # noqa: S608
        " (scope, key, fingerprint, created_at, claimed_at, status_code, headers, body)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " created_at = excluded.created_at, claimed_at = excluded.claimed_at,"
        " status_code = excluded.status_code, headers = excluded.headers, body = excluded.body"
        " WHERE k.status_code IS NULL OR k.created_at <= %s"
        " RETURNING 1"
    )


def postgres_purge(table: str) -> str:
    return f"DELETE FROM {table} WHERE created_at <= %s OR status_code IS NULL"  # noqa: S608


def ts(value: datetime) -> float:
    return value.timestamp()


def sqlite_record(row: Any) -> KeyRecord | None:
    if row is None:
        return None
    fingerprint, created, status, headers, body = row
    return KeyRecord(
        fingerprint,
        datetime.fromtimestamp(created, UTC),
        StoredResponse(int(status), bytes(body), json.loads(headers)),
    )


def postgres_record(row: Any) -> KeyRecord | None:
    if row is None:
        return None
    values = list(row.values()) if isinstance(row, dict) else list(row)
    fingerprint, created, status, headers, body = values
    return KeyRecord(fingerprint, created, StoredResponse(int(status), bytes(body), dict(headers)))


class RecorderIdempotencyStore:
    """Reads the keys an event recorder wrote (``KeyRecorder``): no connections of its own."""

    def __init__(self, recorder: KeyRecorder, *, retention: timedelta = DEFAULT_RETENTION):
        self.recorder = recorder
        self.retention = retention

    def lookup(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Lookup:
        return decide(self.recorder.select_key_record(scope, key), fingerprint, now, self.retention)

    def purge_expired(self, *, now: datetime) -> int:
        return self.recorder.delete_key_records(created_before=now - self.retention)

    def close(self) -> None:
        """The recorder's connections belong to the workshop, which closes them."""
