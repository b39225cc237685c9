"""Idempotency-key stores (the ``IdempotencyStore`` port): in memory (tests, demo), SQLite
(beside the local event store, in the same file) and Postgres (beside the events, in the same
schema). One contract suite, tests/integration/test_idempotency_store_contract.py, runs
against all three.

Every adapter reads the current record and applies the same rule (:func:`_decide`) while
holding a lock that excludes other claimants: a ``threading.Lock`` in memory, the database
write lock (``BEGIN IMMEDIATE``) in SQLite, the row lock (``FOR UPDATE``) in Postgres.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import psycopg
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

# A claimant waits at most this long for another's lock (an error rather than a hung
# request); the SQL statements below spell the same value out as literals.
_LOCK_TIMEOUT_SECONDS = 5


@attrs.define
class _Record:
    fingerprint: str
    created_at: datetime
    claimed_at: datetime
    response: StoredResponse | None = None


def _is_live(record: _Record | None, now: datetime, retention: timedelta) -> bool:
    return record is not None and record.created_at + retention > now


def _decide(
    record: _Record | None,
    fingerprint: str,
    now: datetime,
    retention: timedelta,
    lease: timedelta,
) -> ClaimOutcome:
    """The claim rule shared by every adapter, given the current record (if any).

    When this returns ACQUIRED for a live record, the caller takes over an abandoned claim
    (keeps ``created_at``, renews ``claimed_at``); otherwise it writes a fresh record.
    """
    if record is None or not _is_live(record, now, retention):
        return ClaimOutcome.ACQUIRED
    if record.fingerprint != fingerprint:
        return ClaimOutcome.MISMATCH
    if record.response is not None:
        return ClaimOutcome.REPLAY
    if record.claimed_at + lease <= now:
        return ClaimOutcome.ACQUIRED  # the claimant died (or hung) past its lease: take over
    return ClaimOutcome.IN_PROGRESS


def _outcome(outcome: ClaimOutcome, record: _Record | None) -> Claim:
    if outcome is ClaimOutcome.REPLAY and record is not None:
        return Claim(outcome, record.response)
    return Claim(outcome)


class InMemoryIdempotencyStore:
    """Records in a dict; one lock makes each operation atomic across threads."""

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
                if record is not None and _is_live(record, now, self.retention):
                    record.claimed_at = now
                else:
                    self._records[(scope, key)] = _Record(fingerprint, now, now)
            return _outcome(outcome, record)

    def complete(self, scope: str, key: str, response: StoredResponse, *, now: datetime) -> None:
        with self._lock:
            record = self._records.get((scope, key))
            if record is not None:
                # A copy: the caller's headers dict must not change what a replay sends.
                record.response = attrs.evolve(response, headers=dict(response.headers))

    def release(self, scope: str, key: str) -> None:
        with self._lock:
            record = self._records.get((scope, key))
            if record is not None and record.response is None:
                del self._records[(scope, key)]

    def purge_expired(self, *, now: datetime) -> int:
        with self._lock:
            expired = [k for k, r in self._records.items() if not _is_live(r, now, self.retention)]
            for k in expired:
                del self._records[k]
            return len(expired)

    def close(self) -> None:
        pass


# SQLite statements (the table name is a constant, never input). Timestamps are epoch
# seconds (REAL); a completed record has a non-NULL status_code.
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
# REPLACE drops the expired row whole, so no stale response survives a fresh claim.
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


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class SqliteIdempotencyStore:
    """A table in the SQLite file of the event store, one connection per thread.

    Every operation runs under ``BEGIN IMMEDIATE``: it takes the database write lock before
    reading, so two threads or processes cannot both see "no record" and both acquire.
    """

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
        # Every thread's connection, so close() can close them all (the API calls the store
        # from a pool of worker threads, and close() runs on another thread at shutdown).
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        with self._tx() as conn:
            conn.execute(_SQLITE_CREATE)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE in _tx). The event
            # store may hold the write lock for a moment; wait rather than fail at once.
            conn = sqlite3.connect(
                self.path,
                timeout=float(_LOCK_TIMEOUT_SECONDS),
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA busy_timeout = 5000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # Also after a failed COMMIT: never leave this thread's connection mid-transaction.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim:
        with self._tx() as conn:
            record = _sqlite_record(conn.execute(_SQLITE_SELECT, (scope, key)).fetchone())
            outcome = _decide(record, fingerprint, now, self.retention, self.lease)
            if outcome is ClaimOutcome.ACQUIRED:
                if _is_live(record, now, self.retention):
                    conn.execute(_SQLITE_TAKE_OVER, (_ts(now), scope, key))
                else:
                    conn.execute(_SQLITE_CLAIM_NEW, (scope, key, fingerprint, _ts(now), _ts(now)))
            return _outcome(outcome, record)

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
            return conn.execute(_SQLITE_PURGE, (_ts(now - self.retention),)).rowcount

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        # Threads that call again get a new connection rather than a closed one.
        self._local = threading.local()


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
    """A table beside the events (same schema), used through a small connection pool.

    A claim inserts the record if absent (``ON CONFLICT DO NOTHING``); if it exists, the row is
    locked (``FOR UPDATE``) and the decision and its update happen in the same transaction, so
    concurrent claimants queue on the row and see each other's result.
    """

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
        try:
            self._pool.open(wait=True, timeout=float(connect_timeout))
            self._create_table(schema)
        except BaseException:
            # Otherwise the pool's workers keep reconnecting in the background.
            self._pool.close()
            raise
        t = sql.Identifier(schema, TABLE)
        columns = sql.SQL("fingerprint, created_at, claimed_at, status_code, headers, body")
        self._insert = sql.SQL(
            "INSERT INTO {} (scope, key, fingerprint, created_at, claimed_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
        ).format(t)
        self._select = sql.SQL("SELECT {} FROM {} WHERE scope = %s AND key = %s FOR UPDATE").format(
            columns, t
        )
        self._claim_new = sql.SQL(
            "UPDATE {} SET fingerprint = %s, created_at = %s, claimed_at = %s,"
            " status_code = NULL, headers = NULL, body = NULL WHERE scope = %s AND key = %s"
        ).format(t)
        self._take_over = sql.SQL(
            "UPDATE {} SET claimed_at = %s WHERE scope = %s AND key = %s"
        ).format(t)
        self._complete = sql.SQL(
            "UPDATE {} SET status_code = %s, headers = %s, body = %s WHERE scope = %s AND key = %s"
        ).format(t)
        self._release = sql.SQL(
            "DELETE FROM {} WHERE scope = %s AND key = %s AND status_code IS NULL"
        ).format(t)
        self._purge = sql.SQL("DELETE FROM {} WHERE created_at <= %s").format(t)

    def _create_table(self, schema: str) -> None:
        with self._pool.connection() as conn, conn.transaction():
            exists = conn.execute(
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
                (schema, TABLE),
            ).fetchone()
            if exists:
                return  # also spares a role without CREATE on the schema
            # API workers start together; concurrent CREATE TABLE IF NOT EXISTS can still fail
            # on the catalog's unique index, so they take turns.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{schema}.{TABLE}",))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,"
                    " created_at timestamptz NOT NULL, claimed_at timestamptz NOT NULL,"
                    " status_code integer, headers jsonb, body bytea,"
                    " PRIMARY KEY (scope, key))"
                ).format(sql.Identifier(schema, TABLE))
            )

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '5s'")
            yield conn

    def claim(self, scope: str, key: str, fingerprint: str, *, now: datetime) -> Claim:
        with self._tx() as conn:
            # The row can vanish between the INSERT and the SELECT (released or purged by
            # another transaction); then the INSERT is tried again. Read committed gives each
            # statement a fresh snapshot, so this settles at once in practice.
            for _ in range(3):
                if conn.execute(self._insert, (scope, key, fingerprint, now, now)).fetchone():
                    return Claim(ClaimOutcome.ACQUIRED)
                row = conn.execute(self._select, (scope, key)).fetchone()
                if row is not None:
                    break
            else:
                raise RuntimeError(f"idempotency key {key!r} keeps appearing and vanishing")
            record = _postgres_record(row)
            outcome = _decide(record, fingerprint, now, self.retention, self.lease)
            if outcome is ClaimOutcome.ACQUIRED:
                if _is_live(record, now, self.retention):
                    conn.execute(self._take_over, (now, scope, key))
                else:
                    conn.execute(self._claim_new, (fingerprint, now, now, scope, key))
            return _outcome(outcome, record)

    def complete(self, scope: str, key: str, response: StoredResponse, *, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                self._complete,
                (response.status_code, Jsonb(response.headers), response.body, scope, key),
            )

    def release(self, scope: str, key: str) -> None:
        with self._tx() as conn:
            conn.execute(self._release, (scope, key))

    def purge_expired(self, *, now: datetime) -> int:
        with self._tx() as conn:
            return conn.execute(self._purge, (now - self.retention,)).rowcount

    def close(self) -> None:
        self._pool.close()


def _postgres_record(row: Any) -> _Record:
    fingerprint, created, claimed, status, headers, body = row
    response = (
        StoredResponse(int(status), bytes(body), dict(headers)) if status is not None else None
    )
    return _Record(fingerprint, created, claimed, response)
