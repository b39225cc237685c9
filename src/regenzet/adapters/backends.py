"""One object per storage technology: the in-memory store, a SQLite file, or Postgres.

A backend knows its eventsourcing environment and builds every store that lives beside the
log (the bulk log reader, the read models, the audit chain, the idempotency keys), the
readiness probe and the wake-up of followers; it also owns the store's set-up (creating the
database, schema or directory) and, on Postgres, the login role and the append-only grants
(``regenzet db``). The composition root picks one backend, once; nothing else asks which
database it is on.

Each store owns its pool and closes it. On Postgres the process's connections are one
budget (``REGENZET_DB_POOL_SIZE``) split by :class:`PoolShares` among the event store, the
read models, the audit chain and the log readers (ADR 0034).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import attrs
import psycopg
from psycopg import sql

from regenzet.adapters.audit_chain import (
    CHAIN_TABLE,
    CHECKPOINT_TABLE,
    InMemoryChainStore,
    PostgresChainStore,
    SqliteChainStore,
)
from regenzet.adapters.errors import guard_recorder, store_errors
from regenzet.adapters.event_log import (
    PostgresEventLogReader,
    RecorderEventLogReader,
    SqliteEventLogReader,
)
from regenzet.adapters.idempotency import RecorderIdempotencyStore
from regenzet.adapters.persistence import (
    DatabaseUnavailableError,
    SerialInsertPostgresRecorder,
    ensure_login_role,
    ensure_postgres,
    grant_append_only,
    memory_env,
    postgres_env,
    sqlite_env,
)
from regenzet.adapters.read_models import (
    InMemoryReadModelStore,
    PostgresReadModelStore,
    SqliteReadModelStore,
)
from regenzet.application.audit import ChainStore
from regenzet.application.errors import ApplicationError
from regenzet.application.idempotency import IdempotencyStore, KeyRecorder
from regenzet.application.ports import EventLogReader
from regenzet.application.projections import ReadModelStore
from regenzet.application.workshop import Workshop

# SQLite cannot push: poll the head of the log this often when idle.
SQLITE_POLL_SECONDS = 0.02
# Postgres pushes NOTIFY; a lost notification costs at most this long.
POSTGRES_FALLBACK_POLL_SECONDS = 1.0

APPEND_ONLY_TABLES = ("regenzet_events", "regenzet_snapshots", CHAIN_TABLE, CHECKPOINT_TABLE)


class BackendError(ApplicationError):
    """The backend cannot do what was asked (say, grants on SQLite); safe to show."""


class Waker(Protocol):
    """Waits for "the log may have grown"."""

    def wait(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class PollingWaker:
    """Polls: a short sleep between looks at the head of the log."""

    def __init__(self, seconds: float = SQLITE_POLL_SECONDS) -> None:
        self.seconds = seconds

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.seconds)

    def close(self) -> None:
        pass


class ListenWaker:
    """Postgres NOTIFY on the recorder's channel, on a connection of its own (one of the
    budget's reader connections), falling back to polling while it cannot listen."""

    def __init__(self, conninfo: dict[str, Any], channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._conn: psycopg.Connection[Any] | None = None

    def wait(self, stop: threading.Event) -> None:
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=POSTGRES_FALLBACK_POLL_SECONDS, stop_after=1):
                break
        except psycopg.Error:
            self.close()
            stop.wait(POSTGRES_FALLBACK_POLL_SECONDS)

    def _listen(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(**self._conninfo, autocommit=True)
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


@attrs.frozen
class PoolShares:
    """How one process's Postgres connection budget is split (the most each may open).

    ``readers`` are single connections outside any pool: the followers' log reader, the audit
    verifier's reader and the NOTIFY listener. The event store gets half of what is left after
    them and the chain (two stores of two), the read models the rest (the API's requests use
    both).
    """

    total: int
    event_store: int
    read_models: int
    chain: int
    readers: int

    READERS: ClassVar[int] = 3
    CHAIN: ClassVar[int] = 4
    # Two each for the event store and the read models: with one, a write waiting on the
    # insert lock (5 s) holds the only connection past the pool timeout (4 s) for everyone.
    MINIMUM: ClassVar[int] = READERS + CHAIN + 4

    @classmethod
    def of(cls, total: int) -> PoolShares:
        if total < cls.MINIMUM:
            raise ValueError(f"a connection budget needs at least {cls.MINIMUM} connections")
        rest = total - cls.READERS - cls.CHAIN
        event_store = (rest + 1) // 2
        return cls(
            total=total,
            event_store=event_store,
            read_models=rest - event_store,
            chain=cls.CHAIN,
            readers=cls.READERS,
        )


class Backend:
    """What every backend offers; see the module's docstring."""

    env: dict[str, str]
    # A verification of a long chain may be split among processes (each opens the store).
    shares_across_processes: ClassVar[bool] = True

    def setup(self) -> None:
        """Makes the store usable (database, schema or directory), failing fast in one line."""

    def workshop(self, workshop_type: type[Workshop] = Workshop, **kwargs: Any) -> Workshop:
        """The application on this store (its tables created when missing); every recorder
        it uses raises ``StoreUnavailableError`` for the driver's errors."""
        with store_errors():
            workshop = workshop_type(env=self.env, **kwargs)
        guard_recorder(workshop.recorder)
        if workshop.snapshots is not None:
            guard_recorder(workshop.snapshots.recorder)
        return workshop

    def event_log_reader(self, workshop: Workshop | None) -> EventLogReader:
        raise NotImplementedError

    def read_model_store(self) -> ReadModelStore:
        raise NotImplementedError

    def chain_store(self) -> ChainStore:
        """The audit hash chain beside the log (its tables created when missing)."""
        store = self._chain_store()
        store.prepare()
        return store

    def _chain_store(self) -> ChainStore:
        raise NotImplementedError

    def idempotency_store(self, workshop: Workshop, retention: timedelta) -> IdempotencyStore:
        """Keys are written by the workshop's recorder with the events (ADR 0024) and read
        back through it: same SQLite file, Postgres schema or memory."""
        recorder = workshop.recorder
        if not isinstance(recorder, KeyRecorder):
            raise BackendError(
                f"the event store's recorder ({type(recorder).__name__}) does not record "
                "idempotency keys; build the workshop through its backend"
            )
        return RecorderIdempotencyStore(recorder, retention=retention)

    def readiness(self, workshop: Workshop, timeout: float) -> Callable[[], None]:
        """What ``GET /ready`` runs: raises ``StoreUnavailableError`` unless the store answers
        within ``timeout`` seconds."""
        recorder = workshop.recorder

        def ready() -> None:
            with store_errors():
                recorder.max_notification_id()

        return ready

    def waker(self, workshop: Workshop) -> Waker:
        return PollingWaker()

    def create_login(self, role: str, password: str) -> str:
        raise BackendError("creating a login role needs REGENZET_DATABASE_URL (Postgres)")

    def grant_append_only(self, role: str, *, vin_decoder: Any) -> list[str]:
        raise BackendError("granting privileges needs REGENZET_DATABASE_URL (Postgres)")

    def close(self) -> None:
        """A backend holds no connections itself: each store owns and closes its own."""


class MemoryBackend(Backend):
    """Everything in this process's memory (tests, the OpenAPI document)."""

    shares_across_processes = False

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env if env is not None else memory_env()

    def event_log_reader(self, workshop: Workshop | None) -> EventLogReader:
        if workshop is None:
            raise ValueError("the in-memory store is read through its workshop's recorder")
        return RecorderEventLogReader(workshop.recorder)

    def read_model_store(self) -> ReadModelStore:
        return InMemoryReadModelStore()

    def _chain_store(self) -> ChainStore:
        return InMemoryChainStore()


class SqliteBackend(Backend):
    """The event store in a SQLite file; read models in a file of their own beside it (so
    followers never hold its write lock); the chain in the event store's file."""

    def __init__(self, path: Path, *, lock_timeout: int = 5, env: dict[str, str] | None = None):
        self.path = path
        self.lock_timeout = lock_timeout
        self._env = env

    @property
    def env(self) -> dict[str, str]:  # type: ignore[override]
        if self._env is None:
            self._env = sqlite_env(self.path, lock_timeout=self.lock_timeout)  # makes the dir
        return self._env

    def setup(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(
                f"REGENZET_DATA_DIR {self.path.parent} is not a usable directory: {exc.strerror}"
            ) from None

    def event_log_reader(self, workshop: Workshop | None) -> EventLogReader:
        return SqliteEventLogReader(self.path)

    def read_model_store(self) -> ReadModelStore:
        return SqliteReadModelStore(self.path.with_name("read_models.db"))

    def _chain_store(self) -> ChainStore:
        return SqliteChainStore(self.path)


class PostgresBackend(Backend):
    """Everything in one Postgres database and schema, within one connection budget."""

    def __init__(
        self,
        url: str | None,
        *,
        shares: PoolShares,
        connect_timeout: int,
        lock_timeout: int,
        idle_in_transaction_timeout: int,
        schema: str = "public",
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.shares = shares
        self.connect_timeout = connect_timeout
        self.schema = schema
        if env is None:
            if url is None:
                raise ValueError("a Postgres backend needs a URL or an environment")
            # The library's pool opens POSTGRES_POOL_SIZE connections and may grow by
            # POSTGRES_MAX_OVERFLOW: together, the event store's share.
            opened = min(2, shares.event_store)
            env = postgres_env(
                url,
                pool_size=opened,
                max_overflow=shares.event_store - opened,
                connect_timeout=connect_timeout,
                lock_timeout=lock_timeout,
                idle_in_transaction_timeout=idle_in_transaction_timeout,
                schema=schema,
            )
        self.env = env

    @property
    def conninfo(self) -> dict[str, str]:
        """psycopg connection arguments for the event store's database."""
        env = self.env
        return {
            "host": env["POSTGRES_HOST"],
            "port": env["POSTGRES_PORT"],
            "user": env["POSTGRES_USER"],
            "password": env["POSTGRES_PASSWORD"],
            "dbname": env["POSTGRES_DBNAME"],
        }

    def setup(self) -> None:
        if self.url is not None:
            ensure_postgres(self.url, connect_timeout=self.connect_timeout, schema=self.schema)

    def event_log_reader(self, workshop: Workshop | None) -> EventLogReader:
        conninfo = {**self.conninfo, "connect_timeout": str(self.connect_timeout)}
        return PostgresEventLogReader(conninfo, schema=self.schema)

    def read_model_store(self) -> ReadModelStore:
        opened = min(2, self.shares.read_models)
        return PostgresReadModelStore(
            self.conninfo,
            schema=self.schema,
            pool_size=opened,
            max_overflow=self.shares.read_models - opened,
            connect_timeout=self.connect_timeout,
        )

    def _chain_store(self) -> ChainStore:
        return PostgresChainStore(
            self.conninfo,
            schema=self.schema,
            # Two chain stores per process (the chain follower's, the verifier's), each with
            # two connections: a checkpoint reads the head inside its own transaction.
            max_size=max(2, self.shares.chain // 2),
            connect_timeout=self.connect_timeout,
        )

    def readiness(self, workshop: Workshop, timeout: float) -> Callable[[], None]:
        recorder = workshop.recorder
        if not isinstance(recorder, SerialInsertPostgresRecorder):
            return super().readiness(workshop, timeout)

        def ready() -> None:
            recorder.ping(timeout)  # its own short wait, not the pool's connection bound

        return ready

    def waker(self, workshop: Workshop) -> Waker:
        channel = getattr(workshop.recorder, "channel_name", None)
        if channel is None:
            return PollingWaker(POSTGRES_FALLBACK_POLL_SECONDS)
        conninfo = {**self.conninfo, "connect_timeout": self.connect_timeout}
        return ListenWaker(conninfo, channel)

    def _url(self) -> str:
        if self.url is None:
            raise BackendError("this needs REGENZET_DATABASE_URL")
        return self.url

    def create_login(self, role: str, password: str) -> str:
        """Creates the application's login role (or resets its password to ``password``)."""
        return ensure_login_role(self._url(), role, password, connect_timeout=self.connect_timeout)

    def grant_append_only(self, role: str, *, vin_decoder: Any) -> list[str]:
        """Creates the log, snapshots and audit chain (owned by the caller, the schema's
        owner), then grants ``role`` append-only access to them (``regenzet db grant``). The
        role creates and owns its own derived tables (read models, idempotency keys), so it
        can rebuild them."""
        from regenzet.adapters.clock import SystemClock

        workshop = self.workshop(clock=SystemClock(), vin_decoder=vin_decoder)
        try:
            self.chain_store().close()
        finally:
            workshop.close()
        return grant_append_only(
            self._url(),
            schema=self.schema,
            role=role,
            append_only=APPEND_ONLY_TABLES,
            events_tables=("regenzet_events",),
            connect_timeout=self.connect_timeout,
        )


def backend_for_env(env: dict[str, str], *, shares: PoolShares | None = None) -> Backend:
    """The backend an eventsourcing environment describes (tools and tests that hold an
    environment rather than settings)."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.sqlite":
        return SqliteBackend(
            Path(env["SQLITE_DBNAME"]),
            lock_timeout=int(env.get("SQLITE_LOCK_TIMEOUT", "5")),
            env=env,
        )
    if module == "eventsourcing.postgres":
        return PostgresBackend(
            None,
            shares=shares or PoolShares.of(20),
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            lock_timeout=int(env.get("POSTGRES_LOCK_TIMEOUT", "5")),
            idle_in_transaction_timeout=int(
                env.get("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "10")
            ),
            schema=env.get("POSTGRES_SCHEMA") or "public",
            env=env,
        )
    return MemoryBackend(env)


__all__ = [
    "APPEND_ONLY_TABLES",
    "Backend",
    "BackendError",
    "DatabaseUnavailableError",
    "ListenWaker",
    "MemoryBackend",
    "PollingWaker",
    "PoolShares",
    "PostgresBackend",
    "SqliteBackend",
    "Waker",
    "backend_for_env",
]
