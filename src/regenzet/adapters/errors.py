"""The adapters' boundary for infrastructure failures: a driver's error (psycopg, its pool,
sqlite3, the eventsourcing library's own) leaves an adapter as the application's
:class:`~regenzet.application.errors.StoreUnavailableError`, its cause kept for the logs.

Conflicts are not failures of the store: integrity errors (a unique version taken) pass
through unchanged, so the workshop still turns them into "another change was saved first".
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from eventsourcing import persistence as es

from regenzet.application.errors import StoreUnavailableError

# What a store can raise when the database is down or refuses us.
DRIVER_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.errors.InsufficientPrivilege,  # the role lacks a privilege (see `db grant`)
    psycopg.errors.ReadOnlySqlTransaction,  # a failover demoted the primary we write to
    psycopg.errors.IdleInTransactionSessionTimeout,
    psycopg_pool.PoolTimeout,
    sqlite3.DatabaseError,  # also "file is not a database"
    es.DatabaseError,
    es.InterfaceError,
)
# ... except these: a conflict is an answer, not an outage.
CONFLICTS: tuple[type[Exception], ...] = (
    es.IntegrityError,
    sqlite3.IntegrityError,
    psycopg.IntegrityError,
)

T = TypeVar("T")


def unavailable(exc: BaseException) -> StoreUnavailableError:
    text = str(exc).strip().splitlines()
    return StoreUnavailableError(text[0] if text else type(exc).__name__)


@contextmanager
def store_errors() -> Iterator[None]:
    """Runs the block with driver errors turned into ``StoreUnavailableError``."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except CONFLICTS:
        raise
    except DRIVER_ERRORS as exc:
        raise unavailable(exc) from exc


def translating(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` with driver errors turned into ``StoreUnavailableError`` (generators too,
    while they are consumed)."""
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generate(*args: Any, **kwargs: Any) -> Any:
            with store_errors():
                yield from function(*args, **kwargs)

        return generate

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> T:
        with store_errors():
            return function(*args, **kwargs)

    return call


C = TypeVar("C", bound=type)


def store_boundary(cls: C) -> C:
    """A class decorator: every public method (and ``__init__``, which may open a pool) of
    an adapter raises ``StoreUnavailableError`` instead of a driver's error."""
    for name, member in list(vars(cls).items()):
        if not ((name == "__init__" or not name.startswith("_")) and inspect.isfunction(member)):
            continue
        inner = getattr(member, "__wrapped__", None)
        if inner is not None and inspect.isgeneratorfunction(inner):
            # A @contextmanager: the block's own driver errors pass through its yield.
            setattr(cls, name, functools.wraps(inner)(contextmanager(translating(inner))))
        else:
            setattr(cls, name, translating(member))
    return cls


RECORDER_METHODS = (
    "insert_events",
    "select_events",
    "select_notifications",
    "max_notification_id",
    "select_key_record",
    "delete_key_records",
    "ping",
)
_guarded: dict[tuple[type, tuple[str, ...]], type] = {}


def recorder_boundary(cls: C) -> C:
    """A class decorator for our recorders: their reads and writes raise
    ``StoreUnavailableError``, outside the library's own retries."""
    for name in RECORDER_METHODS:
        method = getattr(cls, name, None)
        if callable(method):
            setattr(cls, name, translating(method))
    cls._store_boundary = True  # type: ignore[attr-defined]
    return cls


def guard_recorder(recorder: Any) -> Any:
    """Makes a recorder the library built (the snapshots') raise ``StoreUnavailableError``:
    its class becomes a subclass whose reads and writes translate driver errors, outside the
    library's own retries."""
    cls = type(recorder)
    if getattr(cls, "_store_boundary", False):
        return recorder
    names = tuple(name for name in RECORDER_METHODS if hasattr(recorder, name))
    guarded = _guarded.get((cls, names))
    if guarded is None:
        members: dict[str, Any] = {"_store_boundary": True}
        for name in names:
            method = getattr(cls, name, None)
            if callable(method):
                members[name] = translating(method)
            else:  # a proxy that resolves it in __getattr__ (a wrapper around a recorder)
                members[name] = _resolved(cls, name)
        guarded = type(cls.__name__, (cls,), members)
        _guarded[(cls, names)] = guarded
    recorder.__class__ = guarded
    return recorder


def _resolved(cls: type, name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        with store_errors():
            return cls.__getattr__(self, name)(*args, **kwargs)  # type: ignore[attr-defined]

    method.__name__ = name
    return method
