"""Hash-chain stores (the ``ChainStore`` port) beside the log: in memory, SQLite, Postgres.

Two append-only tables:

- ``audit_chain(notification_id, previous_id, events, link)``: one row per linked event;
  ``events`` counts the links up to this one, ``previous_id`` is the event linked before it.
- ``audit_checkpoints(notification_id, events, link, created_at, key_id, algorithm,
  signature)``: the signed seals.

Nothing here updates or deletes. One writer at a time: ``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on Postgres (no table privilege beyond INSERT is needed).
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg_pool
from psycopg import sql

from regenzet.adapters.errors import store_boundary
from regenzet.application.audit import ChainHead, ChainLink, Checkpoint

CHAIN_TABLE = "audit_chain"
CHECKPOINT_TABLE = "audit_checkpoints"


class _MemoryTx:
    def __init__(self, store: InMemoryChainStore) -> None:
        self._store = store

    def head(self) -> ChainHead:
        return self._store.head()

    def append(self, links: Sequence[ChainLink], head: ChainHead) -> None:
        events = self._store.head().events
        for offset, link in enumerate(links, start=1):
            self._store._rows.append(
                (link.notification_id, link.previous_id, events + offset, link.link)
            )

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._store._checkpoints.append(checkpoint)


class InMemoryChainStore:
    def __init__(self) -> None:
        self._rows: list[tuple[int, int, int, bytes]] = []
        self._checkpoints: list[Checkpoint] = []
        self._lock = threading.RLock()

    def prepare(self) -> None:
        pass

    def head(self) -> ChainHead:
        with self._lock:
            if not self._rows:
                return ChainHead()
            notification_id, _, events, link = self._rows[-1]
            return ChainHead(notification_id, events, link)

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTx]:
        with self._lock:
            rows, checkpoints = list(self._rows), list(self._checkpoints)
            try:
                yield _MemoryTx(self)
            except BaseException:
                self._rows, self._checkpoints = rows, checkpoints
                raise

    def links(self, after: int, upto: int) -> list[tuple[int, int, bytes]]:
        with self._lock:
            return [(n, p, link) for n, p, _, link in self._rows if after < n <= upto]

    def link_at(self, notification_id: int) -> ChainLink | None:
        with self._lock:
            for n, p, _, link in self._rows:
                if n == notification_id:
                    return ChainLink(n, p, link)
        return None

    def link_before(self, notification_id: int) -> tuple[ChainLink, int] | None:
        with self._lock:
            earlier = [r for r in self._rows if r[0] < notification_id]
        if not earlier:
            return None
        n, p, events, link = earlier[-1]
        return ChainLink(n, p, link), events

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            return sorted(self._checkpoints, key=lambda c: c.notification_id)

    def close(self) -> None:
        pass


def _checkpoint(row: Any) -> Checkpoint:
    notification_id, events, link, created_at, key_id, algorithm, signature = row
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    return Checkpoint(
        notification_id=int(notification_id),
        events=int(events),
        link=bytes(link),
        created_at=created_at,
        key_id=key_id,
        algorithm=algorithm,
        signature=bytes(signature),
    )


_SQLITE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
    " notification_id INTEGER PRIMARY KEY, previous_id INTEGER NOT NULL,"
    " events INTEGER NOT NULL, link BLOB NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} ("
    " notification_id INTEGER PRIMARY KEY, events INTEGER NOT NULL, link BLOB NOT NULL,"
    " created_at TEXT NOT NULL, key_id TEXT NOT NULL, algorithm TEXT NOT NULL,"
    " signature BLOB NOT NULL)",
)
_CHECKPOINT_COLUMNS = "notification_id, events, link, created_at, key_id, algorithm, signature"


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection, store: SqliteChainStore) -> None:
        self._conn = conn
        self._store = store

    def head(self) -> ChainHead:
        return self._store._head(self._conn)

    def append(self, links: Sequence[ChainLink], head: ChainHead) -> None:
        events = head.events - len(links)
        self._conn.executemany(
            f"INSERT INTO {CHAIN_TABLE} (notification_id, previous_id, events, link)"  # noqa: S608
            " VALUES (?, ?, ?, ?)",
            [
                (link.notification_id, link.previous_id, events + offset, link.link)
                for offset, link in enumerate(links, start=1)
            ],
        )

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._conn.execute(
            f"INSERT INTO {CHECKPOINT_TABLE} ({_CHECKPOINT_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                checkpoint.notification_id,
                checkpoint.events,
                checkpoint.link,
                checkpoint.created_at.isoformat(),
                checkpoint.key_id,
                checkpoint.algorithm,
                checkpoint.signature,
            ),
        )


@store_boundary
class SqliteChainStore:
    """The chain in the event store's own SQLite file, beside ``stored_events``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so close() can close every thread's connection.
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 10000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def prepare(self) -> None:
        conn = self._conn()
        for statement in _SQLITE_DDL:
            conn.execute(statement)

    def _head(self, conn: sqlite3.Connection) -> ChainHead:
        row = conn.execute(
            f"SELECT notification_id, events, link FROM {CHAIN_TABLE}"  # noqa: S608
            " ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
        return ChainHead(row[0], row[1], bytes(row[2])) if row else ChainHead()

    def head(self) -> ChainHead:
        return self._head(self._conn())

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteTx(conn, self)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def links(self, after: int, upto: int) -> list[tuple[int, int, bytes]]:
        return (
            self._conn()
            .execute(
                f"SELECT notification_id, previous_id, link FROM {CHAIN_TABLE}"  # noqa: S608
                " WHERE notification_id > ? AND notification_id <= ? ORDER BY notification_id",
                (after, upto),
            )
            .fetchall()
        )

    def link_at(self, notification_id: int) -> ChainLink | None:
        row = (
            self._conn()
            .execute(
                f"SELECT notification_id, previous_id, link FROM {CHAIN_TABLE}"  # noqa: S608
                " WHERE notification_id = ?",
                (notification_id,),
            )
            .fetchone()
        )
        return ChainLink(row[0], row[1], bytes(row[2])) if row else None

    def link_before(self, notification_id: int) -> tuple[ChainLink, int] | None:
        row = (
            self._conn()
            .execute(
                f"SELECT notification_id, previous_id, link, events FROM {CHAIN_TABLE}"  # noqa: S608
                " WHERE notification_id < ? ORDER BY notification_id DESC LIMIT 1",
                (notification_id,),
            )
            .fetchone()
        )
        return (ChainLink(row[0], row[1], bytes(row[2])), row[3]) if row else None

    def checkpoints(self) -> list[Checkpoint]:
        rows = (
            self._conn()
            .execute(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINT_TABLE}"  # noqa: S608
                " ORDER BY notification_id"
            )
            .fetchall()
        )
        return [_checkpoint(r) for r in rows]

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


class _PostgresTx:
    def __init__(self, conn: Any, store: PostgresChainStore) -> None:
        self._conn = conn
        self._store = store

    def head(self) -> ChainHead:
        return self._store._head(self._conn)

    def append(self, links: Sequence[ChainLink], head: ChainHead) -> None:
        events = head.events - len(links)
        statement = sql.SQL(
            "COPY {} (notification_id, previous_id, events, link) FROM STDIN"
        ).format(self._store._chain)
        with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            for offset, link in enumerate(links, start=1):
                copy.write_row((link.notification_id, link.previous_id, events + offset, link.link))

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._conn.execute(
            sql.SQL(
                "INSERT INTO {} (" + _CHECKPOINT_COLUMNS + ") VALUES (%s, %s, %s, %s, %s, %s, %s)"  # noqa: S608 - constant columns
            ).format(self._store._checkpoints),
            (
                checkpoint.notification_id,
                checkpoint.events,
                checkpoint.link,
                checkpoint.created_at,
                checkpoint.key_id,
                checkpoint.algorithm,
                checkpoint.signature,
            ),
        )


@store_boundary
class PostgresChainStore:
    """The chain in the event store's Postgres schema."""

    def __init__(
        self,
        conninfo: dict[str, Any],
        *,
        schema: str = "public",
        max_size: int = 4,
        connect_timeout: int = 5,
    ) -> None:
        self.schema = schema
        self._chain = sql.Identifier(schema, CHAIN_TABLE)
        self._checkpoints = sql.Identifier(schema, CHECKPOINT_TABLE)
        # A 64-bit key for the writers' advisory lock, stable across processes.
        self._lock_key = zlib.crc32(f"{schema}.{CHAIN_TABLE}".encode())
        kwargs: dict[str, Any] = {**conninfo, "connect_timeout": connect_timeout}
        kwargs["options"] = "-c lock_timeout=30s"
        self._pool = psycopg_pool.ConnectionPool(
            "",
            kwargs=kwargs,
            min_size=1,
            max_size=max_size,
            timeout=float(connect_timeout),
            open=False,
        )
        self._pool.open(wait=True, timeout=float(connect_timeout))

    def prepare(self) -> None:
        """Creates the tables when missing; an existing table is left alone without asking
        for CREATE (the application's role may hold only INSERT and SELECT on them)."""
        with self._pool.connection() as conn:
            for table, statement in zip(
                (CHAIN_TABLE, CHECKPOINT_TABLE), postgres_ddl(self.schema), strict=True
            ):
                found = conn.execute(
                    "SELECT to_regclass(%s)", (f'"{self.schema}"."{table}"',)
                ).fetchone()
                if found is None or found[0] is None:
                    conn.execute(statement)

    def _head(self, conn: Any) -> ChainHead:
        row = conn.execute(
            sql.SQL(
                "SELECT notification_id, events, link FROM {} ORDER BY notification_id DESC LIMIT 1"
            ).format(self._chain)
        ).fetchone()
        return ChainHead(row[0], row[1], bytes(row[2])) if row else ChainHead()

    def head(self) -> ChainHead:
        with self._pool.connection() as conn:
            return self._head(conn)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            yield _PostgresTx(conn, self)

    def links(self, after: int, upto: int) -> list[tuple[int, int, bytes]]:
        with self._pool.connection() as conn, conn.cursor(binary=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "SELECT notification_id, previous_id, link FROM {}"
                    " WHERE notification_id > %s AND notification_id <= %s"
                    " ORDER BY notification_id"
                ).format(self._chain),
                (after, upto),
                prepare=True,
            )
            return cursor.fetchall()

    def link_at(self, notification_id: int) -> ChainLink | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT notification_id, previous_id, link FROM {} WHERE notification_id = %s"
                ).format(self._chain),
                (notification_id,),
            ).fetchone()
        return ChainLink(row[0], row[1], bytes(row[2])) if row else None

    def link_before(self, notification_id: int) -> tuple[ChainLink, int] | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT notification_id, previous_id, link, events FROM {}"
                    " WHERE notification_id < %s ORDER BY notification_id DESC LIMIT 1"
                ).format(self._chain),
                (notification_id,),
            ).fetchone()
        return (ChainLink(row[0], row[1], bytes(row[2])), row[3]) if row else None

    def checkpoints(self) -> list[Checkpoint]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT " + _CHECKPOINT_COLUMNS + " FROM {} ORDER BY notification_id"  # noqa: S608
                ).format(self._checkpoints)
            ).fetchall()
        return [_checkpoint(r) for r in rows]

    def close(self) -> None:
        self._pool.close()


def postgres_ddl(schema: str) -> list[sql.Composed]:
    chain = sql.Identifier(schema, CHAIN_TABLE)
    checkpoints = sql.Identifier(schema, CHECKPOINT_TABLE)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (notification_id BIGINT PRIMARY KEY,"
            " previous_id BIGINT NOT NULL, events BIGINT NOT NULL, link BYTEA NOT NULL)"
        ).format(chain),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (notification_id BIGINT PRIMARY KEY,"
            " events BIGINT NOT NULL, link BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL,"
            " key_id TEXT NOT NULL, algorithm TEXT NOT NULL, signature BYTEA NOT NULL)"
        ).format(checkpoints),
    ]


__all__ = [
    "CHAIN_TABLE",
    "CHECKPOINT_TABLE",
    "InMemoryChainStore",
    "PostgresChainStore",
    "SqliteChainStore",
    "postgres_ddl",
]
