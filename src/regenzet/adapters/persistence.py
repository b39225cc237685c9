"""Event-store configuration for the eventsourcing library: SQLite file, Postgres or memory.

Turns a database URL (or a data directory) into the library's environment, checks that
Postgres is reachable before the library's pool starts retrying, and holds our recorder
subclasses. Every application recorder here writes the request's idempotency key and response
in the transaction that inserts the command's events (ADR 0024), and the Postgres one fails
fast: a bounded wait for a connection and a lock, and a lost commit acknowledgement settled by
reading the log back, never by inserting again blindly.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
import psycopg_pool
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import sql
from psycopg.sql import SQL
from psycopg.types.json import Jsonb

from regenzet.adapters import idempotency as keys
from regenzet.adapters.errors import recorder_boundary
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.idempotency import (
    IdempotencyKeyTakenError,
    KeyRecord,
    PendingKey,
    StoredResponse,
    pending_key,
)


class DatabaseUnavailableError(StoreUnavailableError):
    """The configured database cannot be reached; the message is safe to show (no password)."""


def _parts(url: str) -> dict[str, Any]:
    split = urlsplit(url)
    if split.query:
        raise DatabaseUnavailableError(
            "REGENZET_DATABASE_URL must not carry query options; set libpq variables such as "
            "PGSSLMODE instead"
        )
    try:
        port = split.port or 5432
    except ValueError:
        raise DatabaseUnavailableError("REGENZET_DATABASE_URL has an invalid port") from None
    dbname = unquote(split.path.lstrip("/"))
    if not dbname:
        raise DatabaseUnavailableError("REGENZET_DATABASE_URL must name a database (…/dbname)")
    return {
        "host": split.hostname or "127.0.0.1",
        "port": str(port),
        "user": unquote(split.username or "postgres"),
        "password": unquote(split.password or ""),
        "dbname": dbname,
    }


def redact(url: str) -> str:
    split = urlsplit(url)
    host = f"{split.hostname}:{_parts(url)['port']}"
    return f"postgresql://{split.username or 'postgres'}@{host}{split.path}"


def ensure_login_role(url: str, role: str, password: str, *, connect_timeout: int = 5) -> str:
    """Creates ``role`` as a login role with ``password``, or sets the password of an existing
    one (so the role always matches its secret). Run as a role with CREATEROLE."""
    p = _parts(url)
    who = sql.Identifier(role)
    with psycopg.connect(**p, connect_timeout=connect_timeout, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL("{} ROLE {} WITH LOGIN PASSWORD {}").format(
                sql.SQL(verb), who, sql.Literal(password)
            )
        )
    return f"role {role}: {'password set' if exists else 'created (login)'}"


def serial_insert_key(schema: str, table: str) -> int:
    """The advisory lock every writer of the log takes (the recorder, and the trigger
    ``db grant`` installs for writers that do not use the recorder)."""
    return zlib.crc32(f"{schema}.{table}".encode())


class FailFastPostgresDatastore(PostgresDatastore):
    """The library's datastore, but a connection that cannot be had within the pool's timeout
    is a :class:`DatabaseUnavailableError` at once.

    The library maps the pool's ``PoolTimeout`` to its ``OperationalError``, which every
    recorder method retries ten times, each retry waiting the whole timeout again (50 s with
    5 s). ``DatabaseUnavailableError`` is not retried, so a request waits at most one timeout
    for a connection and then answers 503.
    """

    @contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with super().get_connection() as conn:
                yield conn
        except OperationalError as exc:
            if isinstance(exc.__cause__, psycopg_pool.PoolTimeout):
                raise DatabaseUnavailableError(
                    f"no database connection within {self.pool.timeout:g} s"
                ) from exc
            raise


def _lock_timed_out(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, psycopg.errors.LockNotAvailable)


@recorder_boundary
class SerialInsertPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder, serialising inserts with a transaction-scoped advisory lock
    instead of ``LOCK TABLE ... IN EXCLUSIVE MODE``, and writing idempotency keys.

    Both locks make notification ids commit in the order they were issued (so a follower never
    passes a gap that is filled later), but ``LOCK TABLE`` in that mode needs UPDATE, DELETE or
    TRUNCATE privilege on the table, while the application's role holds only INSERT and SELECT
    on the log (``regenzet db grant``, docs/audit.md). ``db grant`` also installs a statement
    trigger that takes the same lock, so any other writer (a tool on the library's default
    recorder, an older release during a rolling deploy) is serialised with this one.

    ``insert_events`` replaces the library's (which retries a dropped connection by inserting
    again, and so answers a commit whose acknowledgement was lost with a unique-version
    conflict): after a connection error it reads the events back and, if they are there with
    the very bytes it sent, the commit happened and their notification ids are returned.
    """

    RESOLVE_PAUSE = 0.1  # seconds between a failed attempt and the next look at the store

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        if type(datastore) is PostgresDatastore:
            # The factory builds the library's class; ours only changes get_connection().
            datastore.__class__ = FailFastPostgresDatastore
        # libpq's own connect timeout, so a silent host cannot hold a pool worker forever.
        if isinstance(datastore.pool.kwargs, dict):
            datastore.pool.kwargs.setdefault("connect_timeout", max(2, int(datastore.pool.timeout)))
        super().__init__(datastore, events_table_name=events_table_name)
        key = serial_insert_key(datastore.schema, events_table_name)
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout),
            SQL("SELECT pg_advisory_xact_lock({0})").format(key),
        ]
        events = sql.Identifier(datastore.schema, events_table_name)
        table = sql.Identifier(datastore.schema, keys.TABLE)
        self._before_insert = SQL("; ").join(
            [
                *self.lock_table_statements,
                SQL("NOTIFY {0}").format(sql.Identifier(self.channel_name)),
            ]
        )
        self._select_mine = SQL(
            "SELECT originator_id, originator_version, state, notification_id FROM {0}"
            " WHERE (originator_id, originator_version) IN"
            " (SELECT * FROM unnest(%s::uuid[], %s::integer[]))"
        ).format(events)
        self._keys_create = SQL(keys.postgres_create("{0}")).format(table)
        self._keys_select = SQL(keys.postgres_select("{0}")).format(table)
        self._keys_upsert = SQL(keys.postgres_upsert("{0}")).format(table)
        self._keys_purge = SQL(keys.postgres_purge("{0}")).format(table)
        self._keys_table = (datastore.schema, keys.TABLE)

    def create_table(self) -> None:
        """Creates the log when it is missing (an existing log is left alone: its indexes
        belong to the schema's owner, and the application's role, ``regenzet db grant``, may
        not touch them even with IF NOT EXISTS), then the idempotency keys' table."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT to_regclass(%s) AS events, to_regclass(%s) AS keys",
                (
                    f'"{self.datastore.schema}"."{self.events_table_name}"',
                    f'"{self.datastore.schema}"."{keys.TABLE}"',
                ),
            )
            row = curs.fetchone()
        events, key_table = (row["events"], row["keys"]) if row is not None else (None, None)
        if events is None:
            super().create_table()
        if key_table is None:
            with self.datastore.transaction(commit=True) as curs:
                # API workers start together; concurrent CREATE TABLE IF NOT EXISTS can still
                # fail on the catalog's unique index, so they take turns.
                curs.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", (".".join(self._keys_table),)
                )
                curs.execute(self._keys_create)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        pending = pending_key()
        deadline = time.monotonic() + self.datastore.pool.timeout
        ambiguous = False  # an earlier attempt may have committed without our hearing of it
        while True:
            try:
                ids, response = self._insert_once(stored_events, pending)
                break
            except IntegrityError:
                # After a lost acknowledgement the retry meets its own committed rows.
                mine = self._committed_ids(stored_events) if ambiguous else None
                if mine is None:
                    raise
                ids, response = mine, _response(pending, mine)
                break
            except (InterfaceError, OperationalError) as exc:
                if _lock_timed_out(exc):
                    raise DatabaseUnavailableError(
                        f"the event log stayed locked for {self.datastore.lock_timeout} s"
                    ) from exc
                ambiguous = True
                mine = self._committed_ids(stored_events)  # unreachable: 503, decided later
                if mine is not None:
                    ids, response = mine, _response(pending, mine)
                    break
                if time.monotonic() + self.RESOLVE_PAUSE >= deadline:
                    raise DatabaseUnavailableError(
                        "the database dropped the write; nothing was saved"
                    ) from exc
                time.sleep(self.RESOLVE_PAUSE)
        if pending is not None:
            pending.response = response
        return ids

    def _insert_once(
        self, stored_events: Sequence[StoredEvent], pending: PendingKey | None
    ) -> tuple[list[int], StoredResponse | None]:
        """One transaction: the lock, the events, their key. Raises without committing."""
        ids: list[int] = []
        response = None
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            if stored_events:
                curs.execute(self._before_insert)
                PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events)
                ids = list(self._fetch_ids_after_insert_events(curs, stored_events) or [])
            elif pending is not None:
                # No events, no advisory lock: the key row's wait is still bounded.
                curs.execute(self.lock_table_statements[0])
            if pending is not None:
                response = _response(pending, ids)
                curs.execute(self._keys_upsert, _key_params(pending, response, sqlite=False))
                if curs.fetchone() is None:
                    raise IdempotencyKeyTakenError(pending.scope, pending.key)
        return ids, response

    def _committed_ids(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """Whether these exact events are in the log: their notification ids if so, None if
        none of them is; an ``IntegrityError`` if another writer holds those versions."""
        if not stored_events:
            return None
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._select_mine,
                (
                    [_uuid(s.originator_id) for s in stored_events],
                    [s.originator_version for s in stored_events],
                ),
            )
            rows = curs.fetchall()
        return _mine(
            stored_events, {(str(r["originator_id"]), r["originator_version"]): r for r in rows}
        )

    def select_key_record(self, scope: str, key: str) -> KeyRecord | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._keys_select, (scope, key))
            return keys.postgres_record(curs.fetchone())

    def delete_key_records(self, *, created_before: datetime) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._keys_purge, (created_before,))
            return curs.rowcount

    def ping(self, timeout: float) -> None:
        """Raises ``DatabaseUnavailableError`` unless a connection answers within ``timeout``."""
        try:
            with self.datastore.pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise DatabaseUnavailableError(
                f"the database did not answer within {timeout:g} s"
            ) from exc


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _mine(
    stored_events: Sequence[StoredEvent], found: dict[tuple[str, int], Any]
) -> list[int] | None:
    if not found:
        return None
    ids: list[int] = []
    for event in stored_events:
        row = found.get((str(_uuid(event.originator_id)), event.originator_version))
        # The state carries the event's microsecond timestamp: only our insert has these bytes.
        if row is None or bytes(row["state"]) != bytes(event.state):
            raise IntegrityError("another change to this record was saved first")
        ids.append(int(row["notification_id"]))
    return ids


def _response(pending: PendingKey | None, ids: Sequence[int]) -> StoredResponse | None:
    return None if pending is None else pending.response_for(max(ids, default=None))


def _key_params(pending: PendingKey, response: StoredResponse | None, *, sqlite: bool) -> list[Any]:
    """The upsert's parameters: SQLite stores epoch seconds and JSON text, Postgres
    timestamptz and jsonb."""
    if response is None:
        raise RuntimeError("an idempotency key needs the response it stores")
    created: Any = keys.ts(pending.now) if sqlite else pending.now
    expired: Any = keys.ts(pending.expired_before) if sqlite else pending.expired_before
    headers: Any = json.dumps(response.headers) if sqlite else Jsonb(response.headers)
    return [
        pending.scope,
        pending.key,
        pending.fingerprint,
        created,
        created,
        response.status_code,
        headers,
        response.body,
        expired,
    ]


@recorder_boundary
class KeyedSqliteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing the idempotency key in the events' transaction
    (the same file; SQLite commits both or neither)."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), keys.SQLITE_CREATE]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        pending = pending_key()
        response = None
        with self.datastore.transaction(commit=True) as c:
            ids = list(self._insert_events(c, stored_events, **kwargs) or [])
            if pending is not None:
                response = _response(pending, ids)
                c.execute(keys.SQLITE_UPSERT, _key_params(pending, response, sqlite=True))
                if _changes(c) == 0:
                    raise IdempotencyKeyTakenError(pending.scope, pending.key)
        if pending is not None:
            pending.response = response
        return ids

    def select_key_record(self, scope: str, key: str) -> KeyRecord | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(keys.SQLITE_SELECT, (scope, key))
            return keys.sqlite_record(c.fetchone())

    def delete_key_records(self, *, created_before: datetime) -> int:
        with self.datastore.transaction(commit=True) as c:
            c.execute(keys.SQLITE_PURGE, (keys.ts(created_before),))
            return _changes(c)


def _changes(c: SQLiteCursor) -> int:
    return int(c.sqlite_cursor.rowcount)


@recorder_boundary
class KeyedMemoryRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder with idempotency keys, under the same lock."""

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[tuple[str, str], KeyRecord] = {}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        pending = pending_key()
        response = None
        with self._database_lock:
            if pending is not None:
                found = self._keys.get((pending.scope, pending.key))
                if found is not None and found.created_at > pending.expired_before:
                    raise IdempotencyKeyTakenError(pending.scope, pending.key)
                # Nothing to roll back in memory: decide everything before changing anything.
                self._assert_uniqueness(stored_events, **kwargs)
                first = len(self._stored_events) + 1
                response = _response(pending, range(first, first + len(stored_events)))
            ids = list(self._insert_events(stored_events, **kwargs) or [])
            if pending is not None and response is not None:
                self._keys[(pending.scope, pending.key)] = KeyRecord(
                    pending.fingerprint, pending.now, response
                )
        self._notify_listeners()
        if pending is not None:
            pending.response = response
        return ids

    def select_key_record(self, scope: str, key: str) -> KeyRecord | None:
        with self._database_lock:
            return self._keys.get((scope, key))

    def delete_key_records(self, *, created_before: datetime) -> int:
        with self._database_lock:
            dead = [k for k, r in self._keys.items() if r.created_at <= created_before]
            for k in dead:
                del self._keys[k]
            return len(dead)


class KeyedMemoryFactory(POPOFactory):
    """The in-memory store with :class:`KeyedMemoryRecorder` (tests, demos)."""

    def application_recorder(self) -> KeyedMemoryRecorder:
        return KeyedMemoryRecorder()


RECORDER_TOPIC = f"{__name__}:{SerialInsertPostgresRecorder.__name__}"
SQLITE_RECORDER_TOPIC = f"{__name__}:{KeyedSqliteRecorder.__name__}"
# The in-memory store with idempotency keys: ``Workshop(env=memory_env(), ...)``.
MEMORY_FACTORY_TOPIC = f"{__name__}:{KeyedMemoryFactory.__name__}"


def memory_env() -> dict[str, str]:
    return {"PERSISTENCE_MODULE": MEMORY_FACTORY_TOPIC}


def sqlite_env(path: Path, *, lock_timeout: int = 5) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER_TOPIC,
    }


def postgres_env(
    url: str,
    *,
    pool_size: int,
    max_overflow: int,
    connect_timeout: int,
    lock_timeout: int,
    idle_in_transaction_timeout: int,
    schema: str = "public",
) -> dict[str, str]:
    p = _parts(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": p["dbname"],
        "POSTGRES_HOST": p["host"],
        "POSTGRES_PORT": p["port"],
        "POSTGRES_USER": p["user"],
        "POSTGRES_PASSWORD": p["password"],
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(idle_in_transaction_timeout),
        "POSTGRES_PRE_PING": "y",
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
        # Deliberately absent: POSTGRES_ENABLE_DB_FUNCTIONS (followers could skip events).
    }
    if schema != "public":
        env["POSTGRES_SCHEMA"] = schema
    return env


def ensure_postgres(
    url: str, *, connect_timeout: int, create_missing: bool = True, schema: str = "public"
) -> None:
    """Fails fast with a one-line reason if Postgres is unreachable; creates a missing database
    or schema (convenient on a laptop; in production both exist and the role cannot create)."""
    p = _parts(url)
    try:
        with psycopg.connect(**p, connect_timeout=connect_timeout, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
            if exists is None:  # asking only when missing: the app's role may not create
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
        return
    except psycopg.errors.InsufficientPrivilege as exc:
        raise DatabaseUnavailableError(
            f"schema {schema} does not exist and could not be created: {_first_line(exc)}"
        ) from None
    except psycopg.OperationalError as exc:
        if not (create_missing and "does not exist" in str(exc) and p["dbname"] in str(exc)):
            raise DatabaseUnavailableError(
                f"cannot connect to {redact(url)}: {_first_line(exc)}"
            ) from None
    try:
        admin = dict(p, dbname="postgres")
        with psycopg.connect(**admin, connect_timeout=connect_timeout, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(p["dbname"])))
    except psycopg.Error as exc:
        raise DatabaseUnavailableError(
            f"database {p['dbname']} does not exist and could not be created: {_first_line(exc)}"
        ) from None
    ensure_postgres(url, connect_timeout=connect_timeout, create_missing=False, schema=schema)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def grant_append_only(
    url: str,
    *,
    schema: str,
    role: str,
    append_only: tuple[str, ...],
    events_tables: tuple[str, ...] = (),
    connect_timeout: int = 5,
) -> list[str]:
    """Makes ``append_only`` tables INSERT/SELECT-only for ``role`` and every other table of
    the schema read/write; returns what it did, one line per step. Idempotent."""
    p = _parts(url)
    who = sql.Identifier(role)
    done: list[str] = []
    with psycopg.connect(**p, connect_timeout=connect_timeout, autocommit=False) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists is None:
            raise DatabaseUnavailableError(f"role {role} does not exist: create it first")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                (schema,),
            ).fetchall()
        ]
        missing = [t for t in append_only if t not in tables]
        if missing:
            raise DatabaseUnavailableError(f"tables missing in schema {schema}: {missing}")
        owned = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tableowner = %s",
                (schema, role),
            ).fetchall()
            if t in append_only
        ]
        if owned:
            # An owner can always grant itself the rights back, or drop the table.
            raise DatabaseUnavailableError(
                f"role {role} owns {', '.join(owned)}: an owner cannot be made append-only; "
                f"run `ALTER TABLE … OWNER TO` a migration role first"
            )
        for table in events_tables:
            key = serial_insert_key(schema, table)
            function = sql.Identifier(schema, "regenzet_serialise_inserts")
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_advisory_xact_lock({}); RETURN NULL; END $$"
                ).format(function, sql.Literal(key))
            )
            trigger = sql.Identifier("regenzet_serialise_inserts")
            conn.execute(
                sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    trigger, sql.Identifier(schema, table)
                )
            )
            conn.execute(
                sql.SQL(
                    "CREATE TRIGGER {} BEFORE INSERT ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()"
                ).format(trigger, sql.Identifier(schema, table), function)
            )
            done.append(
                f"{schema}.{table}: every insert takes the writers' advisory lock (a trigger)"
            )
        conn.execute(
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(sql.Identifier(schema), who)
        )
        done.append(f"schema {schema}: USAGE, CREATE")
        for table in tables:
            name = sql.Identifier(schema, table)
            conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who))
            if table in append_only:
                conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(name, who))
                done.append(f"{schema}.{table}: SELECT, INSERT only (append-only)")
            else:
                conn.execute(
                    sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(name, who)
                )
                done.append(f"{schema}.{table}: SELECT, INSERT, UPDATE, DELETE")
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), who
            )
        )
        done.append(f"schema {schema}: sequences USAGE")
        # Read-model tables a rebuild by this owner recreates get the same rights.
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {} "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(sql.Identifier(schema), who)
        )
        done.append(f"schema {schema}: new tables SELECT, INSERT, UPDATE, DELETE")
        conn.commit()
    return done
