"""Read-model stores: documents in tables with indexed columns, and follower positions.

Three adapters with one contract suite: in memory (tests), SQLite (a file beside the event
store, so a follower's transaction never holds the event store's write lock) and Postgres
(the store's database and schema). A transaction buffers its writes (reads see them) and
flushes them in bulk with the new position at commit: one round trip per table per batch,
which is what makes catch-up fast.

Each table ``t`` of a projection is ``rm_t(key, doc, ix_<field>...)`` plus, for each list
field ``f``, ``rm_t__f(key, value)`` for membership filters. Positions and schema versions
live in ``rm_positions``. Names come from code, never from input, and are checked anyway.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg_pool
from psycopg import sql

from regenzet.adapters.errors import store_boundary
from regenzet.application.projections import Doc, Page, Projection, Query, TableSpec

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_MISSING = object()
# Sorts after every ISO date, so rows without the ordering value come last.
_LAST = "~"


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid read-model name {name!r}")
    return name


def index_value(value: Any) -> str | None:
    """How a document field is stored in its index column (strings as they are)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def encode_cursor(order_value: str | None, key: str) -> str:
    raw = json.dumps([order_value, key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, key = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(key, str) or not (value is None or isinstance(value, str)):
        raise ValueError("invalid cursor")
    if "\x00" in key or (value is not None and "\x00" in value):
        raise ValueError("invalid cursor")  # never issued, and Postgres text cannot hold it
    return value, key


class _Tables:
    """The specs of every prepared table, by name."""

    def __init__(self) -> None:
        self.specs: dict[str, TableSpec] = {}
        self.owner: dict[str, str] = {}

    def add(self, projection: Projection) -> None:
        _check(projection.name)
        for spec in projection.tables:
            _check(spec.name)
            for field in (*spec.indexes, *spec.lists):
                _check(field)
            for field in spec.prefixes:
                if field not in (*spec.indexes, *spec.lists):
                    raise ValueError(f"{spec.name}.{field}: a prefix field must be indexed")
            self.specs[spec.name] = spec
            self.owner[spec.name] = projection.name

    def spec(self, table: str) -> TableSpec:
        try:
            return self.specs[table]
        except KeyError:
            raise ValueError(f"unknown read-model table {table!r}") from None


class _BufferedTx:
    """Reads through a write buffer; the adapter flushes the buffer at commit."""

    def __init__(self, read: Any, position: int) -> None:
        self._read = read
        self._position = position
        self.pending: dict[tuple[str, str], Doc | None] = {}
        # Documents read in this transaction (None for a miss). Only this follower writes its
        # tables while it holds the position, so they cannot change under it: a batch reads
        # each document once instead of once per event (the board reads the same vehicle and
        # customer for every event of an order).
        self._read_cache: dict[tuple[str, str], Doc | None] = {}

    def get(self, table: str, key: str) -> Doc | None:
        found = self.pending.get((table, key), _MISSING)
        if found is _MISSING:
            found = self._read_cache.get((table, key), _MISSING)
            if found is _MISSING:
                found = self._read(table, key)
                self._read_cache[(table, key)] = found
        # A copy: a projection may change what it read without putting it back.
        return copy.deepcopy(found)  # type: ignore[return-value]

    def put(self, table: str, key: str, doc: Doc) -> None:
        self.pending[(table, key)] = doc

    def delete(self, table: str, key: str) -> None:
        self.pending[(table, key)] = None

    def position(self) -> int:
        return self._position

    def set_position(self, position: int) -> None:
        self._position = position


# ---------------------------------------------------------------------------------------------
# In memory
# ---------------------------------------------------------------------------------------------


class InMemoryReadModelStore:
    def __init__(self) -> None:
        self._tables = _Tables()
        self._rows: dict[str, dict[str, Doc]] = {}
        self._positions: dict[str, tuple[int, int | None]] = {}
        self._lock = threading.RLock()

    def prepare(self, projection: Projection) -> None:
        with self._lock:
            self._tables.add(projection)
            for spec in projection.tables:
                self._rows.setdefault(spec.name, {})

    def status(self, name: str) -> tuple[int, int | None]:
        return self._positions.get(name, (0, None))

    @contextmanager
    def transaction(self, name: str) -> Iterator[_BufferedTx]:
        with self._lock:
            position, version = self.status(name)
            tx = _BufferedTx(self.get, position)
            yield tx
            for (table, key), doc in tx.pending.items():
                rows = self._rows.setdefault(table, {})
                if doc is None:
                    rows.pop(key, None)
                else:
                    rows[key] = json.loads(json.dumps(doc))
            self._positions[name] = (tx.position(), version)

    def reset(self, projection: Projection) -> None:
        with self._lock:
            self.prepare(projection)
            for spec in projection.tables:
                self._rows[spec.name] = {}
            self._positions[projection.name] = (0, projection.version)

    def get(self, table: str, key: str) -> Doc | None:
        doc = self._rows.get(table, {}).get(key)
        return json.loads(json.dumps(doc)) if doc is not None else None

    def query(self, query: Query) -> Page:
        spec = self._tables.spec(query.table)
        with self._lock:
            rows = list(self._rows.get(query.table, {}).items())
        selected = []
        for key, doc in rows:
            if any(index_value(doc.get(f)) != index_value(v) for f, v in query.equals.items()):
                continue
            if any(v not in (doc.get(f) or []) for f, v in query.contains.items()):
                continue
            if query.search is not None:
                fields, text = query.search
                needle = text.lower()
                if not any(needle in (index_value(doc.get(f)) or "").lower() for f in fields):
                    continue
            ranges = [*([query.between] if query.between else []), *query.ranges]
            if any(not _in_range(index_value(doc.get(f)), lo, hi) for f, lo, hi in ranges):
                continue
            if query.prefixes and not any(
                _starts(doc.get(f), p, f in spec.lists) for f, p in query.prefixes
            ):
                continue
            selected.append((key, doc))
        order = query.order_by
        _require_indexed(spec, [*query.equals, *(query.search[0] if query.search else ())])
        _require_prefix(spec, query)

        def sort_key(item: tuple[str, Doc]) -> tuple[str, str]:
            value = index_value(item[1].get(order)) if order else None
            return (value if value is not None else _LAST, item[0])

        selected.sort(key=sort_key, reverse=query.descending)
        if query.after is not None:
            value, key = decode_cursor(query.after)
            bound = (value if value is not None else _LAST, key)
            if query.descending:
                selected = [item for item in selected if sort_key(item) < bound]
            else:
                selected = [item for item in selected if sort_key(item) > bound]
        return _page(selected[: query.limit + 1], query, order)

    def close(self) -> None:
        pass


def _require_indexed(spec: TableSpec, fields: Sequence[str]) -> None:
    for field in fields:
        if field not in spec.indexes:
            raise ValueError(f"{spec.name}.{field} is not an indexed field")


def _require_prefix(spec: TableSpec, query: Query) -> None:
    for field, _ in query.prefixes:
        if field not in spec.prefixes:
            raise ValueError(f"{spec.name}.{field} is not a prefix-searchable field")
    _require_indexed(spec, [f for f, _, _ in query.ranges])


def _in_range(value: str | None, low: Any, high: Any) -> bool:
    return value is not None and low <= value <= high


def _starts(value: Any, prefix: str, is_list: bool) -> bool:
    members = [str(v) for v in value or []] if is_list else [index_value(value)]
    return any(m is not None and m.startswith(prefix) for m in members)


def prefix_bound(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix`` (code-point
    order), or None when there is none: ``prefix <= s < bound`` is "s starts with prefix"."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored: skip to the next scalar
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _page(items: list[tuple[str, Doc]], query: Query, order: str | None) -> Page:
    more = len(items) > query.limit
    items = items[: query.limit]
    cursor = None
    if more and items:
        key, doc = items[-1]
        cursor = encode_cursor(index_value(doc.get(order)) if order else None, key)
    return Page([doc for _, doc in items], cursor)


# ---------------------------------------------------------------------------------------------
# SQL (SQLite and Postgres share the statements; only placeholders and plumbing differ)
# ---------------------------------------------------------------------------------------------


def _select_sql(query: Query, spec: TableSpec, placeholder: str) -> tuple[str, list[Any]]:
    table = f"rm_{_check(spec.name)}"
    where: list[str] = []
    params: list[Any] = []
    _require_indexed(spec, [*query.equals, *(query.search[0] if query.search else ())])
    _require_prefix(spec, query)
    if query.prefixes:
        where.append(_prefix_sql(query, spec, placeholder, params))
    for field, low, high in query.ranges:
        where.append(f"ix_{field} >= {placeholder} AND ix_{field} <= {placeholder}")
        params += [low, high]
    for field, value in query.equals.items():
        if value is None:
            where.append(f"ix_{field} IS NULL")
        else:
            where.append(f"ix_{field} = {placeholder}")
            params.append(index_value(value))
    for field, value in query.contains.items():
        if field not in spec.lists:
            raise ValueError(f"{spec.name}.{field} is not a list field")
        side = f"{table}__{field}"
        where.append(f"key IN (SELECT key FROM {side} WHERE value = {placeholder})")  # noqa: S608
        params.append(value)
    if query.search is not None:
        fields, text = query.search
        clauses = [f"LOWER(ix_{f}) LIKE {placeholder}" for f in fields]
        where.append("(" + " OR ".join(clauses) + ")")
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [f"%{escaped}%"] * len(fields)
        where[-1] = where[-1].replace(f"LIKE {placeholder}", f"LIKE {placeholder} ESCAPE '\\'")
    if query.between is not None:
        field, low, high = query.between
        _require_indexed(spec, [field])
        where.append(f"ix_{field} >= {placeholder} AND ix_{field} <= {placeholder}")
        params += [low, high]
    order = f"COALESCE(ix_{query.order_by}, '{_LAST}')" if query.order_by else "''"
    if query.order_by:
        _require_indexed(spec, [query.order_by])
    after = "<" if query.descending else ">"
    if query.after is not None:
        value, key = decode_cursor(query.after)
        where.append(
            f"({order} {after} {placeholder} OR ({order} = {placeholder}"
            f" AND key {after} {placeholder}))"
        )
        bound = value if value is not None else _LAST
        params += [bound, bound, key]
    text = f"SELECT key, doc, {order} FROM {table}"  # noqa: S608 -- names checked above
    if where:
        text += " WHERE " + " AND ".join(where)
    direction = " DESC" if query.descending else ""
    ordering = f"{order}{direction}, key{direction}" if query.order_by else f"key{direction}"
    text += f" ORDER BY {ordering} LIMIT {int(query.limit) + 1}"
    return text, params


def _prefix_sql(query: Query, spec: TableSpec, placeholder: str, params: list[Any]) -> str:
    """``key IN (SELECT key ... UNION SELECT key ...)``: one index range scan per prefix.

    A UNION of keys rather than ``a OR b``: Postgres cannot combine an ``IN (subquery)`` on a
    list table with a range on a column into one bitmap, and falls back to scanning the table.
    """
    table = f"rm_{spec.name}"
    # Postgres compares in the database's locale unless told otherwise; prefix ranges need
    # code-point order (the "C" index made for them). SQLite's default BINARY is that order.
    collate = ' COLLATE "C"' if placeholder == "%s" else ""
    selects = []
    for field, prefix in query.prefixes:
        bound = prefix_bound(prefix)
        column = "value" if field in spec.lists else f"ix_{field}"
        test = f"{column}{collate} >= {placeholder}"
        params.append(prefix)
        if bound is not None:
            test += f" AND {column}{collate} < {placeholder}"
            params.append(bound)
        source = f"{table}__{field}" if field in spec.lists else table
        selects.append(f"SELECT key FROM {source} WHERE {test}")  # noqa: S608
    return "key IN (" + " UNION ".join(selects) + ")"


def _sql_page(rows: list[Any], query: Query) -> Page:
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        key, _doc, order_value = rows[-1]
        cursor = encode_cursor(order_value if query.order_by else None, key)
    return Page([_load(doc) for _, doc, _ in rows], cursor)


def _load(doc: Any) -> Doc:
    loaded: Doc = json.loads(doc) if isinstance(doc, str | bytes) else doc
    return loaded


def _dump(doc: Doc) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def _ddl(spec: TableSpec, *, postgres: bool) -> list[str]:
    table = f"rm_{_check(spec.name)}"
    text = "TEXT"
    columns = ", ".join(f"ix_{_check(f)} {text}" for f in spec.indexes)
    statements = [
        f"CREATE TABLE IF NOT EXISTS {table} (key {text} PRIMARY KEY, doc {text} NOT NULL"
        + (f", {columns}" if columns else "")
        + ")"
    ]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {table}_ix_{f} ON {table} (ix_{f})" for f in spec.indexes
    ]
    for field in spec.lists:
        side = f"{table}__{_check(field)}"
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {side} (key {text} NOT NULL, value {text} NOT NULL,"
            " PRIMARY KEY (key, value))"
        )
        statements.append(f"CREATE INDEX IF NOT EXISTS {side}_value ON {side} (value)")
    if postgres:
        # Prefix searches are code-point ranges (see _select_sql): on Postgres they need an
        # index in the "C" collation; SQLite's indexes above already compare that way.
        for field in spec.prefixes:
            if field in spec.lists:
                side = f"{table}__{_check(field)}"
                statements.append(
                    f'CREATE INDEX IF NOT EXISTS {side}_value_c ON {side} (value COLLATE "C")'
                )
            else:
                statements.append(
                    f"CREATE INDEX IF NOT EXISTS {table}_cx_{_check(field)}"
                    f' ON {table} (ix_{field} COLLATE "C")'
                )
    return statements


def _drop(spec: TableSpec) -> list[str]:
    table = f"rm_{_check(spec.name)}"
    return [f"DROP TABLE IF EXISTS {table}__{f}" for f in spec.lists] + [
        f"DROP TABLE IF EXISTS {table}"
    ]


def _flush_statements(
    tables: _Tables, pending: dict[tuple[str, str], Doc | None], placeholder: str
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Bulk statements for a transaction's buffered writes: delete then insert each key."""
    by_table: dict[str, list[tuple[str, Doc | None]]] = {}
    for (table, key), doc in pending.items():
        by_table.setdefault(table, []).append((key, doc))
    out: list[tuple[str, list[tuple[Any, ...]]]] = []
    p = placeholder
    for table, items in by_table.items():
        spec = tables.spec(table)
        name = f"rm_{table}"
        keys = [(key,) for key, _ in items]
        for field in spec.lists:
            out.append((f"DELETE FROM {name}__{field} WHERE key = {p}", keys))  # noqa: S608
        out.append((f"DELETE FROM {name} WHERE key = {p}", keys))  # noqa: S608
        columns = ["key", "doc", *(f"ix_{f}" for f in spec.indexes)]
        marks = ", ".join([p] * len(columns))
        rows = [
            (key, _dump(doc), *(index_value(doc.get(f)) for f in spec.indexes))
            for key, doc in items
            if doc is not None
        ]
        if rows:
            insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            out.append((insert, rows))
        for field in spec.lists:
            members = [
                (key, str(value))
                for key, doc in items
                if doc is not None
                for value in dict.fromkeys(doc.get(field) or [])
            ]
            if members:
                out.append((f"INSERT INTO {name}__{field} (key, value) VALUES ({p}, {p})", members))  # noqa: S608
    return out


@store_boundary
class SqliteReadModelStore:
    """Read models in their own SQLite file (WAL), one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tables = _Tables()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS rm_positions"
            " (name TEXT PRIMARY KEY, position INTEGER NOT NULL, version INTEGER)"
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so close() can close every thread's connection;
            # each connection is still used by the one thread that opened it.
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def prepare(self, projection: Projection) -> None:
        self._tables.add(projection)
        conn = self._conn()
        for spec in projection.tables:
            for statement in _ddl(spec, postgres=False):
                conn.execute(statement)

    def status(self, name: str) -> tuple[int, int | None]:
        row = (
            self._conn()
            .execute("SELECT position, version FROM rm_positions WHERE name = ?", (name,))
            .fetchone()
        )
        return (int(row[0]), row[1]) if row else (0, None)

    @contextmanager
    def transaction(self, name: str) -> Iterator[_BufferedTx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            position = self.status(name)[0]
            tx = _BufferedTx(self.get, position)
            yield tx
            for statement, rows in _flush_statements(self._tables, tx.pending, "?"):
                conn.executemany(statement, rows)
            conn.execute(
                "INSERT INTO rm_positions (name, position) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (name, tx.position()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def reset(self, projection: Projection) -> None:
        self.prepare(projection)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for spec in projection.tables:
                for statement in [*_drop(spec), *_ddl(spec, postgres=False)]:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO rm_positions (name, position, version) VALUES (?, 0, ?)"
                " ON CONFLICT (name) DO UPDATE SET position = 0, version = excluded.version",
                (projection.name, projection.version),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get(self, table: str, key: str) -> Doc | None:
        self._tables.spec(table)
        row = (
            self._conn()
            .execute(
                f"SELECT doc FROM rm_{table} WHERE key = ?",  # noqa: S608 -- checked name
                (key,),
            )
            .fetchone()
        )
        return _load(row[0]) if row else None

    def query(self, query: Query) -> Page:
        text, params = _select_sql(query, self._tables.spec(query.table), "?")
        return _sql_page(self._conn().execute(text, params).fetchall(), query)

    def close(self) -> None:
        # Every thread's connection (HTTP workers, the runner), not only the caller's.
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        # Threads that call again get a new connection rather than a closed one.
        self._local = threading.local()


@store_boundary
class PostgresReadModelStore:
    """Read models in the event store's Postgres database and schema."""

    def __init__(
        self,
        conninfo: dict[str, str],
        *,
        schema: str = "public",
        pool_size: int = 2,
        max_overflow: int = 4,
        connect_timeout: int = 5,
    ) -> None:
        self._tables = _Tables()
        self._schema = _check(schema) if schema != "public" else "public"
        # Autocommit: a read is one round trip instead of BEGIN, SELECT, COMMIT (a search
        # cost 5.6x its raw SQL without it); writes open their own ``conn.transaction()``.
        kwargs: dict[str, Any] = {
            **conninfo,
            "connect_timeout": connect_timeout,
            "autocommit": True,
        }
        kwargs["options"] = f"-c search_path={self._schema} -c lock_timeout=5s"
        self._pool = psycopg_pool.ConnectionPool(
            "",
            kwargs=kwargs,
            min_size=1,
            max_size=pool_size + max_overflow,
            timeout=float(connect_timeout),
            open=False,
        )
        self._pool.open(wait=True, timeout=float(connect_timeout))
        with self._pool.connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rm_positions"
                " (name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER)"
            )

    def prepare(self, projection: Projection) -> None:
        self._tables.add(projection)
        with self._pool.connection() as conn:
            for spec in projection.tables:
                for statement in _ddl(spec, postgres=True):
                    conn.execute(sql.SQL(statement))

    def status(self, name: str) -> tuple[int, int | None]:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT position, version FROM rm_positions WHERE name = %s", (name,)
            ).fetchone()
        return (int(row[0]), row[1]) if row else (0, None)

    @contextmanager
    def transaction(self, name: str) -> Iterator[_BufferedTx]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO rm_positions (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            # Locks the position row: two runners of one read model take turns.
            row = conn.execute(
                "SELECT position FROM rm_positions WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            position = int(row[0]) if row else 0

            def read(table: str, key: str) -> Doc | None:
                self._tables.spec(table)
                found = conn.execute(
                    sql.SQL("SELECT doc FROM {} WHERE key = %s").format(
                        sql.Identifier(f"rm_{table}")
                    ),
                    (key,),
                ).fetchone()
                return _load(found[0]) if found else None

            tx = _BufferedTx(read, position)
            yield tx
            with conn.cursor() as cursor:
                for statement, rows in _flush_statements(self._tables, tx.pending, "%s"):
                    cursor.executemany(sql.SQL(statement), rows)
            conn.execute(
                "UPDATE rm_positions SET position = %s WHERE name = %s", (tx.position(), name)
            )

    def reset(self, projection: Projection) -> None:
        self.prepare(projection)
        with self._pool.connection() as conn, conn.transaction():
            # The position row first, as a follower's transaction does: taking the two locks
            # in the same order means a rebuild never deadlocks with a live runner.
            conn.execute(
                "INSERT INTO rm_positions (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (projection.name,),
            )
            conn.execute(
                "SELECT 1 FROM rm_positions WHERE name = %s FOR UPDATE", (projection.name,)
            )
            for spec in projection.tables:
                for statement in [*_drop(spec), *_ddl(spec, postgres=True)]:
                    conn.execute(sql.SQL(statement))
            conn.execute(
                "INSERT INTO rm_positions (name, position, version) VALUES (%s, 0, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = 0, version = EXCLUDED.version",
                (projection.name, projection.version),
            )

    def get(self, table: str, key: str) -> Doc | None:
        self._tables.spec(table)
        with self._pool.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT doc FROM {} WHERE key = %s").format(sql.Identifier(f"rm_{table}")),
                (key,),
            ).fetchone()
        return _load(row[0]) if row else None

    def query(self, query: Query) -> Page:
        text, params = _select_sql(query, self._tables.spec(query.table), "%s")
        with self._pool.connection() as conn:
            rows = conn.execute(sql.SQL(text), params).fetchall()
        return _sql_page(rows, query)

    def close(self) -> None:
        self._pool.close()
