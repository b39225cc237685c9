"""One contract for every ReadModelStore adapter (memory, SQLite, Postgres)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regenzet.adapters.read_models import (
    InMemoryReadModelStore,
    PostgresReadModelStore,
    SqliteReadModelStore,
)
from regenzet.application.projections import Query, ReadModelStore, TableSpec

from ..conftest import postgres_store_env


class Things:
    name = "things"
    version = 3
    tables = (
        TableSpec("things", indexes=("status", "due", "label"), lists=("tags",)),
        TableSpec("things_aux"),
        TableSpec(
            "people",
            indexes=("name", "level"),
            lists=("words",),
            prefixes=("name", "words"),
        ),
    )

    def apply(self, event: Any, tx: Any) -> None:  # not used: the store is driven directly
        raise NotImplementedError


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModelStore]:
    if request.param == "memory":
        built: ReadModelStore = InMemoryReadModelStore()
    elif request.param == "sqlite":
        built = SqliteReadModelStore(tmp_path / "read_models.db")
    else:
        env = postgres_store_env(
            request.getfixturevalue("postgres_dsn"), request.getfixturevalue("postgres_schema")
        )
        built = PostgresReadModelStore(
            {k.lower().removeprefix("postgres_"): env[k] for k in (
                "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD",
            )} | {"dbname": env["POSTGRES_DBNAME"]},
            schema=env["POSTGRES_SCHEMA"],
        )  # fmt: skip
    built.reset(Things())
    yield built
    built.close()


def fill(store: ReadModelStore) -> None:
    with store.transaction("things") as tx:
        for i in range(12):
            tx.put(
                "things",
                f"k{i:02d}",
                {
                    "status": "open" if i % 3 else "done",
                    "due": f"2026-12-{i + 1:02d}" if i != 5 else None,
                    "label": f"Plate XY-{i:02d}",
                    "tags": ["a", "b"] if i % 2 else ["b"],
                    "n": i,
                },
            )
        tx.set_position(12)


def test_a_new_read_model_is_empty_at_its_version(store: ReadModelStore) -> None:
    assert store.status("things") == (0, 3)
    assert store.query(Query("things")).items == []


def test_documents_and_position_commit_together(store: ReadModelStore) -> None:
    fill(store)
    assert store.status("things")[0] == 12
    assert store.get("things", "k03") == {
        "status": "done",
        "due": "2026-12-04",
        "label": "Plate XY-03",
        "tags": ["a", "b"],
        "n": 3,
    }


def _crash_mid_batch(store: ReadModelStore) -> None:
    with store.transaction("things") as tx:
        tx.put("things", "k00", {"status": "changed"})
        tx.delete("things", "k01")
        tx.set_position(99)
        raise RuntimeError("crash mid-batch")


def test_a_failed_transaction_leaves_nothing_behind(store: ReadModelStore) -> None:
    fill(store)
    with pytest.raises(RuntimeError):
        _crash_mid_batch(store)
    assert store.status("things")[0] == 12
    assert store.get("things", "k00")["status"] == "done"  # type: ignore[index]
    assert store.get("things", "k01") is not None


def test_reads_inside_a_transaction_see_its_own_writes(store: ReadModelStore) -> None:
    with store.transaction("things") as tx:
        tx.put("things_aux", "x", {"v": 1})
        assert tx.get("things_aux", "x") == {"v": 1}
        tx.delete("things_aux", "x")
        assert tx.get("things_aux", "x") is None
        assert tx.position() == 0


def test_filters_search_ranges_and_membership(store: ReadModelStore) -> None:
    fill(store)
    done = store.query(Query("things", equals={"status": "done"}, limit=50)).items
    assert sorted(d["n"] for d in done) == [0, 3, 6, 9]
    tagged = store.query(Query("things", contains={"tags": "a"}, limit=50)).items
    assert sorted(d["n"] for d in tagged) == [1, 3, 5, 7, 9, 11]
    found = store.query(Query("things", search=(("label",), "xy-1"), limit=50)).items
    assert sorted(d["n"] for d in found) == [10, 11]
    ranged = store.query(Query("things", between=("due", "2026-12-02", "2026-12-04"))).items
    assert sorted(d["n"] for d in ranged) == [1, 2, 3]
    assert store.query(Query("things", search=(("label",), "%"), limit=50)).items == []


def test_cursor_pages_cover_everything_once_in_order(store: ReadModelStore) -> None:
    fill(store)
    seen, cursor = [], None
    while True:
        page = store.query(Query("things", order_by="due", after=cursor, limit=5))
        seen += [d["n"] for d in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    # Sorted by due date; the one without a date comes last.
    assert seen == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 5]


def test_a_garbage_cursor_is_refused(store: ReadModelStore) -> None:
    with pytest.raises(ValueError, match="cursor"):
        store.query(Query("things", order_by="due", after="not-a-cursor"))
    forged = base64.urlsafe_b64encode(json.dumps(["a\u0000", "k"]).encode()).decode()
    with pytest.raises(ValueError, match="cursor"):
        store.query(Query("things", order_by="due", after=forged))


def test_reset_empties_the_tables_and_the_position(store: ReadModelStore) -> None:
    fill(store)
    store.reset(Things())
    assert store.status("things") == (0, 3)
    assert store.query(Query("things", contains={"tags": "b"})).items == []


PEOPLE = [
    ("p1", "anna de vries", 3),
    ("p2", "annabel smit", 1),
    ("p3", "jan anner", 2),
    ("p4", "zoë ånström", 0),
    ("p5", "an", 2),
    ("p6", "bob_an%", 1),
]


def fill_people(store: ReadModelStore) -> None:
    with store.transaction("things") as tx:
        for key, name, level in PEOPLE:
            tx.put("people", key, {"name": name, "level": level, "words": name.split()})


def keys(store: ReadModelStore, query: Query) -> list[str]:
    return [d["name"] for d in store.query(query).items]


def test_prefix_search_matches_the_start_of_a_value_or_of_a_list_member(
    store: ReadModelStore,
) -> None:
    fill_people(store)
    by_name = Query("people", prefixes=(("name", "ann"),), order_by="name")
    assert keys(store, by_name) == ["anna de vries", "annabel smit"]
    by_word = Query("people", prefixes=(("words", "ann"),), order_by="name")
    assert keys(store, by_word) == ["anna de vries", "annabel smit", "jan anner"]
    either = Query("people", prefixes=(("name", "zo"), ("words", "smi")), order_by="name")
    assert keys(store, either) == ["annabel smit", "zoë ånström"]
    # Exact code points: no locale folding, and LIKE's wildcards are plain characters.
    assert keys(store, Query("people", prefixes=(("words", "ån"),))) == ["zoë ånström"]
    assert keys(store, Query("people", prefixes=(("name", "bob_an%"),))) == ["bob_an%"]
    assert keys(store, Query("people", prefixes=(("name", "bob_an_"),))) == []
    assert keys(store, Query("people", prefixes=(("name", "an"),), order_by="name")) == [
        "an",
        "anna de vries",
        "annabel smit",
    ]


def test_a_prefix_search_on_a_field_without_a_prefix_index_is_refused(
    store: ReadModelStore,
) -> None:
    with pytest.raises(ValueError, match="prefix"):
        store.query(Query("things", prefixes=(("label", "x"),)))


def test_ranges_all_hold_and_descending_pages_reverse_the_order(store: ReadModelStore) -> None:
    fill_people(store)
    ranged = Query("people", ranges=(("level", "1", "2"), ("name", "b", "k")), order_by="name")
    assert keys(store, ranged) == ["bob_an%", "jan anner"]
    seen, cursor = [], None
    while True:
        page = store.query(
            Query("people", order_by="level", descending=True, after=cursor, limit=2)
        )
        seen += [(d["level"], d["name"]) for d in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [level for level, _ in seen] == [3, 2, 2, 1, 1, 0]
    assert len({name for _, name in seen}) == len(PEOPLE)
