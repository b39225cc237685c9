"""``regenzet audit`` end to end on SQLite and Postgres: after the demo the chain verifies;
one changed byte in one stored event makes ``verify`` exit non-zero naming that event; the
export verifies with an independent minimal verifier; ``history --at`` travels in time."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from regenzet.entrypoints.demo import demo_id

from .independent_verifier import verify_export
from .test_cli import run

ORDER = demo_id("repair-order:model3-hv")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    if request.param == "sqlite":
        yield env
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"cli_{uuid.uuid4().hex[:8]}"
    yield env | {"REGENZET_DATABASE_URL": dsn, "REGENZET_PG_SCHEMA": schema}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _flip_one_byte(env: dict[str, str], notification_id: int) -> None:
    """What an attacker with database access does: edit one stored event in place."""
    if "REGENZET_DATABASE_URL" not in env:
        path = Path(env["REGENZET_DATA_DIR"]) / "regenzet.db"
        with sqlite3.connect(path) as conn:
            (state,) = conn.execute(
                "SELECT state FROM stored_events WHERE rowid = ?", (notification_id,)
            ).fetchone()
            edited = bytearray(state)
            edited[len(edited) // 3] ^= 0x20
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                (bytes(edited), notification_id),
            )
        return
    with psycopg.connect(env["REGENZET_DATABASE_URL"], autocommit=True) as conn:
        table = sql.Identifier(env["REGENZET_PG_SCHEMA"], "regenzet_events")
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state = overlay(state placing"
                " set_byte(substring(state from 10 for 1), 0, get_byte(state, 9) # 32)"
                " from 10 for 1) WHERE notification_id = %s"
            ).format(table),
            (notification_id,),
        )


def test_demo_verify_tamper_verify(store: dict[str, str]) -> None:
    demo = run(["demo"], store)
    assert demo.returncode == 0, demo.stderr
    assert "audit chain:" in demo.stdout
    clean = run(["audit", "verify", "--json"], store)
    assert clean.returncode == 0, clean.stderr
    report = json.loads(clean.stdout)
    assert report["intact"] is True
    assert report["events_verified"] == report["chain_head"] > 150

    _flip_one_byte(store, 123)
    broken = run(["audit", "verify"], store)
    assert broken.returncode == 2
    assert broken.stdout.startswith("BROKEN at notification 123:")
    assert broken.stderr == ""  # the progress bar is transient


def test_export_verifies_independently_and_an_edited_export_does_not(
    store: dict[str, str], tmp_path: Path
) -> None:
    assert run(["demo"], store).returncode == 0
    output = tmp_path / "audit.jsonl"
    exported = run(["audit", "export", "--output", str(output)], store)
    assert exported.returncode == 0, exported.stderr
    lines = output.read_text().splitlines()
    events = verify_export(lines)
    assert events == json.loads(lines[0])["events"] > 150
    assert not output.with_name("audit.jsonl.partial").exists()

    record = json.loads(lines[50])
    record["state_b64"] = record["state_b64"][:-4] + (
        "AAAA" if record["state_b64"][-4:] != "AAAA" else "BBBB"
    )
    tampered = [*lines[:50], json.dumps(record), *lines[51:]]
    with pytest.raises(ValueError, match=f"notification {record['notification_id']}"):
        verify_export(tampered)

    checkpoint = json.loads(lines[-1])
    assert checkpoint["kind"] == "checkpoint"
    # Still matching the chain, but not what was signed: backdated by a year.
    checkpoint["message"] = checkpoint["message"].replace('"created_at":"2', '"created_at":"1', 1)
    with pytest.raises(ValueError, match="signature"):
        verify_export([*lines[:-1], json.dumps(checkpoint)])


def test_history_at_a_time_and_at_a_version(store: dict[str, str]) -> None:
    assert run(["demo"], store).returncode == 0
    events = json.loads(run(["audit", "history", str(ORDER), "--json"], store).stdout)
    assert events[-1]["data"] == {} or events[-1]["event_type"]
    third = datetime.fromisoformat(events[2]["timestamp"])
    at = (third + timedelta(microseconds=1)).isoformat()
    state = run(["audit", "history", str(ORDER), "--at", at, "--json"], store)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["version"] == events[2]["version"]
    by_version = run(["audit", "history", str(ORDER), "--version", "3", "--json"], store)
    assert json.loads(by_version.stdout) == json.loads(state.stdout)
    naive = run(["audit", "history", str(ORDER), "--at", "2026-01-01T10:00:00"], store)
    assert naive.returncode == 1
    assert "UTC offset" in naive.stderr
    diff = run(["audit", "diff", str(ORDER), "1", "3"], store)
    assert diff.returncode == 0, diff.stderr
    assert "v1 -> v3" in diff.stdout


def test_checkpoint_on_demand(store: dict[str, str]) -> None:
    assert run(["demo"], store).returncode == 0
    again = run(["audit", "checkpoint"], store)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("checkpoint at notification ")
    assert run(["audit", "verify"], store).returncode == 0


def test_the_global_log_with_filters(store: dict[str, str]) -> None:
    assert run(["demo"], store).returncode == 0
    page = run(["audit", "log", "--limit", "5", "--json"], store)
    assert page.returncode == 0, page.stderr
    ids = [json.loads(line)["notification_id"] for line in page.stdout.splitlines()]
    assert ids == [1, 2, 3, 4, 5]
    assert "(more: --after 5)" in page.stderr
    opened = run(
        ["audit", "log", "--aggregate-type", "RepairOrder", "--event-type", "Opened", "--json"],
        store,
    )
    events = [json.loads(line) for line in opened.stdout.splitlines()]
    assert len(events) == 7
    assert {(e["aggregate_type"], e["event_type"]) for e in events} == {("RepairOrder", "Opened")}
    naive = run(["audit", "log", "--since", "2026-01-01T00:00:00"], store)
    assert naive.returncode == 1
    assert "UTC offset" in naive.stderr
