"""Bulk readers of the notification log (the ``EventLogReader`` port), one per store.

Each holds its own connection outside the library's pool, so a long replay never starves
commands. Postgres rows come over the binary protocol: bytea is not hex-encoded and UUIDs
arrive as UUIDs, which roughly doubles the row rate of a text-mode SELECT.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ApplicationRecorder
from psycopg import sql

from regenzet.adapters.errors import store_boundary
from regenzet.application.ports import ChainRow, LogRow


@store_boundary
class PostgresEventLogReader:
    def __init__(
        self, conninfo: dict[str, Any], *, schema: str = "public", table: str = "regenzet_events"
    ) -> None:
        self._conninfo = conninfo
        self._conn = psycopg.connect(**conninfo, autocommit=True)
        name = sql.Identifier(schema, table)
        self._read = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(name)
        self._read_chain = sql.SQL(
            "SELECT notification_id, uuid_send(originator_id), originator_version, topic, state"
            " FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(name)
        self._max = sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}").format(name)

    def _connection(self) -> psycopg.Connection[Any]:
        # After a database restart or failover the old connection is closed for good:
        # reconnect, so a follower's retry resumes instead of failing forever.
        if self._conn.closed:
            self._conn = psycopg.connect(**self._conninfo, autocommit=True)
        return self._conn

    def read(self, after: int, limit: int) -> list[LogRow]:
        with self._connection().cursor(binary=True) as cur:
            cur.execute(self._read, (after, limit), prepare=True)
            return cur.fetchall()

    def read_chain(self, after: int, limit: int) -> list[ChainRow]:
        with self._connection().cursor(binary=True) as cur:
            cur.execute(self._read_chain, (after, limit), prepare=True)
            return cur.fetchall()

    def max_notification_id(self) -> int:
        row = self._connection().execute(self._max).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._conn.close()


@store_boundary
class SqliteEventLogReader:
    """The library's SQLite table is ``stored_events``; its rowid is the notification id."""

    def __init__(self, path: Path, *, table: str = "stored_events") -> None:
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        self._read = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "  # noqa: S608 - fixed table name
            "WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
        self._max = f"SELECT COALESCE(MAX(rowid), 0) FROM {table}"  # noqa: S608

    def read(self, after: int, limit: int) -> list[LogRow]:
        rows = self._conn.execute(self._read, (after, limit)).fetchall()
        return [(n, UUID(hex=o), v, t, s) for n, o, v, t, s in rows]

    def read_chain(self, after: int, limit: int) -> list[ChainRow]:
        rows = self._conn.execute(self._read, (after, limit)).fetchall()
        fromhex = bytes.fromhex
        return [(n, fromhex(o.replace("-", "")), v, t, s) for n, o, v, t, s in rows]

    def max_notification_id(self) -> int:
        return int(self._conn.execute(self._max).fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class RecorderEventLogReader:
    """Any store through the library's recorder (used for the in-memory store)."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self._recorder = recorder

    def read(self, after: int, limit: int) -> list[LogRow]:
        notifications = self._recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [
            (n.id, UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
            for n in notifications
        ]

    def read_chain(self, after: int, limit: int) -> list[ChainRow]:
        return [(n, o.bytes, v, t, s) for n, o, v, t, s in self.read(after, limit)]

    def max_notification_id(self) -> int:
        return self._recorder.max_notification_id() or 0

    def close(self) -> None:
        pass
