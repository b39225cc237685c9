"""Event-store configuration for the eventsourcing library: SQLite file or Postgres.

Turns a database URL (or a data directory) into the library's environment, and checks that
Postgres is reachable before the library's pool starts retrying (which would otherwise block
for many seconds before failing).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql
from psycopg.sql import SQL


class DatabaseUnavailableError(RuntimeError):
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


class SerialInsertPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder, serialising inserts with a transaction-scoped advisory lock
    instead of ``LOCK TABLE ... IN EXCLUSIVE MODE``.

    Both make notification ids commit in the order they were issued (so a follower never
    passes a gap that is filled later), but ``LOCK TABLE`` in that mode needs UPDATE, DELETE or
    TRUNCATE privilege on the table, while the application's role holds only INSERT and SELECT
    on the log (``regenzet db grant``, docs/audit.md). ``db grant`` also installs a statement
    trigger that takes the same lock, so any other writer (a tool on the library's default
    recorder, an older release during a rolling deploy) is serialised with this one.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        key = serial_insert_key(datastore.schema, events_table_name)
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout),
            SQL("SELECT pg_advisory_xact_lock({0})").format(key),
        ]

    def create_table(self) -> None:
        """Creates the log when it is missing. An existing log is left alone: its indexes
        belong to the schema's owner, and the application's role (``regenzet db grant``) may
        not touch them even with IF NOT EXISTS."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT to_regclass(%s)",
                (f'"{self.datastore.schema}"."{self.events_table_name}"',),
            )
            row = curs.fetchone()
        if row is None or next(iter(row.values())) is None:
            super().create_table()


RECORDER_TOPIC = f"{__name__}:{SerialInsertPostgresRecorder.__name__}"


def sqlite_env(path: Path) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "10",
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
