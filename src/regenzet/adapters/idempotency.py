"""Idempotency-key stores: in memory (tests), SQLite (beside the local event store) and
Postgres (beside the events in RDS). One contract suite runs against all three."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import psycopg_pool
from psycopg import sql
from psycopg.types.json import Jsonb

from regenzet.application.idempotency import (
    DEFAULT_LEASE,
    DEFAULT_RETENTION,
    Claim,
    ClaimOutcome,
    StoredResponse,
)

TABLE = "regenzet_idempotency_keys"

# SQLite statements (the table name is a constant, never input).
_SQLITE_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " created_at REAL NOT NULL, claimed_at REAL NOT NULL,"
    " status_code INTEGER, headers TEXT, body BLOB,"
    " PRIMARY KEY (scope, key))"
)
_SQLITE_SELECT = (
    "SELECT fingerprint, created_at, claimed_at, status_code, headers, body"  # noqa: S608
    f" FROM {TABLE} WHERE scope = ? AND key = ?"
)
_SQLITE_CLAIM_NEW = (
    f"INSERT OR REPLACE INTO {TABLE}"  # noqa: S608
    " (scope, key, fingerprint, created_at, claimed_at) VALUES (?, ?, ?, ?, ?)"
)
_SQLITE_TAKE_OVER = f"UPDATE {TABLE} SET claimed_at = ? WHERE scope = ? AND key = ?"  # noqa: S608
_SQLITE_COMPLETE = (
    f"UPDATE {TABLE} SET status_code = ?, headers = ?, body = ?"  # noqa: S608
    " WHERE scope = ? AND key = ?"
)
_SQLITE_RELEASE = f"DELETE FROM {TABLE} WHERE scope = ? AND key = ? AND status_code IS NULL"  # noqa: S608
_SQLITE_PURGE = f"DELETE FROM {TABLE} WHERE created_at <= ?"  # noqa: S608


@attrs.define
class _Record:
    fingerprint: str
    created_at: datetime
    claimed_at: datetime
    response: StoredResponse | None = None


def _decide(
    record: _Record | None,
    fingerprint: str,
    now: datetime,
    retention: timedelta,
    lease: timedelta,
) -> ClaimOutcome:
    """The claim rule shared by every adapter (given the current record, if any)."""
    if record is None or record.created_at + retention <= now:
        return ClaimOutcome.ACQUIRED
    if record.fingerprint != fingerprint:
        return ClaimOutcome.MISMATCH
    if record.response is not None:
        return ClaimOutcome.REPLAY
    if record.claimed_at + lease <= now:
        return ClaimOutcome.ACQUIRED  # the claimant died: take over
    return ClaimOutcome.IN_PROGRESS


class InMemoryIdempotencyStore:
    def __init__(
        self, *, retention: timedelta = DEFAULT_RETENTION, lease: timedelta = DEFAULT_LEASE
    ) -> None:
        self.retention = retention
        self.lease = lease
        self._records: dict[tuple[str, str], _Record] = {}
        self._lock = threading.Lock()

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim:
        with self._lock:
            record = self._records.get((scope, key))
            outcome = _decide(record, fingerprint, now, self.retention, self.lease)
            if outcome is ClaimOutcome.ACQUIRED:
                fresh = record is None or record.created_at + self.retention <= now
                if fresh or record is None:
                    self._records[(scope, key)] = _Record(fingerprint, now, now)
                else:
                    record.claimed_at = now
            elif outcome is ClaimOutcome.REPLAY and record is not None:
                return Claim(outcome, record.response)
            return Claim(outcome)

    def complete(self, scope: str, key: str, response: StoredResponse, *, now: datetime) -> None:
        with self._lock:
            record = self._records.get((scope, key))
            if record is not None:
                record.response = response

    def release(self, scope: str, key: str) -> None:
        with self._lock:
            record = self._records.get((scope, key))
            if record is not None and record.response is None:
                del self._records[(scope, key)]

    def purge_expired(self, *, now: datetime) -> int:
        with self._lock:
            expired = [k for k, r in self._records.items() if r.created_at + self.retention <= now]
            for k in expired:
                del self._records[k]
            return len(expired)

    def close(self) -> None:
        pass


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class SqliteIdempotencyStore:
    """A table in the SQLite file of the event store; claims run under ``BEGIN IMMEDIATE`` so
    two processes cannot both acquire a key."""

    def __init__(
        self,
        path: Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.path = path
        self.retention = retention
        self.lease = lease
        self._local = threading.local()
        with self._tx() as conn:
            conn.execute(_SQLITE_CREATE)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 5000")
            self._local.conn = conn
        return conn

    def _tx(self) -> _SqliteTx:
        return _SqliteTx(self._conn())

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim:
        with self._tx() as conn:
            row = conn.execute(_SQLITE_SELECT, (scope, key)).fetchone()
            record = _sqlite_record(row)
            outcome = _decide(record, fingerprint, now, self.retention, self.lease)
            if outcome is ClaimOutcome.ACQUIRED:
                if record is None or record.created_at + self.retention <= now:
                    conn.execute(_SQLITE_CLAIM_NEW, (scope, key, fingerprint, _ts(now), _ts(now)))
                else:
                    conn.execute(_SQLITE_TAKE_OVER, (_ts(now), scope, key))
            if outcome is ClaimOutcome.REPLAY and record is not None:
                return Claim(outcome, record.response)
            return Claim(outcome)

    def complete(self, scope: str, key: str, response: StoredResponse, *, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                _SQLITE_COMPLETE,
                (response.status_code, json.dumps(response.headers), response.body, scope, key),
            )

    def release(self, scope: str, key: str) -> None:
        with self._tx() as conn:
            conn.execute(_SQLITE_RELEASE, (scope, key))

    def purge_expired(self, *, now: datetime) -> int:
        with self._tx() as conn:
            cursor = conn.execute(_SQLITE_PURGE, (_ts(now - self.retention),))
            return cursor.rowcount

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _sqlite_record(row: Any) -> _Record | None:
    if row is None:
        return None
    fingerprint, created, claimed, status, headers, body = row
    response = (
        StoredResponse(int(status), bytes(body), json.loads(headers))
        if status is not None
        else None
    )
    return _Record(fingerprint, _dt(created), _dt(claimed), response)


class PostgresIdempotencyStore:
    """A table beside the events (same schema); claims lock the row (``FOR UPDATE``)."""

    def __init__(
        self,
        conninfo: dict[str, str] | str,
        *,
        schema: str = "public",
        pool_size: int = 2,
        max_overflow: int = 2,
        connect_timeout: int = 5,
        retention: timedelta = DEFAULT_RETENTION,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.retention = retention
        self.lease = lease
        kwargs: dict[str, Any] = {"connect_timeout": connect_timeout}
        if isinstance(conninfo, dict):
            kwargs.update(conninfo)
            conninfo = ""
        self._pool = psycopg_pool.ConnectionPool(
            conninfo,
            kwargs=kwargs,
            min_size=1,
            max_size=pool_size + max_overflow,
            timeout=float(connect_timeout),
            open=False,
        )
        self._pool.open(wait=True, timeout=float(connect_timeout))
        self._table = sql.Identifier(schema, TABLE)
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,"
                    " created_at timestamptz NOT NULL, claimed_at timestamptz NOT NULL,"
                    " status_code integer, headers jsonb, body bytea,"
                    " PRIMARY KEY (scope, key))"
                ).format(self._table)
            )

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '5s'")
            inserted = conn.execute(
                sql.SQL(
                    "INSERT INTO {} (scope, key, fingerprint, created_at, claimed_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
                ).format(self._table),
                (scope, key, fingerprint, now, now),
            ).fetchone()
            if inserted:
                return Claim(ClaimOutcome.ACQUIRED)
            row = conn.execute(
                sql.SQL(
                    "SELECT fingerprint, created_at, claimed_at, status_code, headers, body"
                    " FROM {} WHERE scope = %s AND key = %s FOR UPDATE"
                ).format(self._table),
                (scope, key),
            ).fetchone()
            record = None
            if row is not None:
                fp, created, claimed, status, headers, body = row
                response = (
                    StoredResponse(int(status), bytes(body), dict(headers))
                    if status is not None
                    else None
                )
                record = _Record(fp, created, claimed, response)
            outcome = _decide(record, fingerprint, now, self.retention, self.lease)
            if outcome is ClaimOutcome.ACQUIRED:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (scope, key, fingerprint, created_at, claimed_at)"
                        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope, key) DO UPDATE SET"
                        " fingerprint = EXCLUDED.fingerprint,"
                        " created_at = CASE WHEN {t}.fingerprint = EXCLUDED.fingerprint"
                        "   AND {t}.created_at > %s"
                        "   THEN {t}.created_at ELSE EXCLUDED.created_at END,"
                        " claimed_at = EXCLUDED.claimed_at,"
                        " status_code = NULL, headers = NULL, body = NULL"
                    ).format(self._table, t=self._table),
                    (scope, key, fingerprint, now, now, now - self.retention),
                )
            if outcome is ClaimOutcome.REPLAY and record is not None:
                return Claim(outcome, record.response)
            return Claim(outcome)

    def complete(self, scope: str, key: str, response: StoredResponse, *, now: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET status_code = %s, headers = %s, body = %s"
                    " WHERE scope = %s AND key = %s"
                ).format(self._table),
                (
                    response.status_code,
                    Jsonb(response.headers),
                    response.body,
                    scope,
                    key,
                ),
            )

    def release(self, scope: str, key: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE scope = %s AND key = %s AND status_code IS NULL"
                ).format(self._table),
                (scope, key),
            )

    def purge_expired(self, *, now: datetime) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                sql.SQL("DELETE FROM {} WHERE created_at <= %s").format(self._table),
                (now - self.retention,),
            )
            return cursor.rowcount

    def close(self) -> None:
        self._pool.close()
