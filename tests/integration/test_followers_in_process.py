"""``REGENZET_FOLLOWERS_IN_PROCESS``: on (the laptop default) the API keeps its read models up to
date itself; off (production, where ``regenzet followers run`` is its own service) it only reads
them, so the read models stay where the followers service left them."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.bootstrap import http_app_from_settings, workshop_for
from regenzet.entrypoints.settings import Settings


def _register(data_dir: Path) -> int:
    workshop = workshop_for(sqlite_env(data_dir / "regenzet.db"), ManualClock(datetime.now(UTC)))
    try:
        receipt = workshop.register_customer(
            name="Ada", email="ada@example.com", phone=None, actor=Actor("a", Role.ADVISOR)
        )
    finally:
        workshop.close()
    assert receipt.position is not None
    return receipt.position


def _board_position(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "read_models.db") as conn:
        row = conn.execute(
            "SELECT position FROM rm_positions WHERE name = 'workshop_board'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("in_process", [True, False])
def test_the_api_follows_the_log_only_when_told_to(tmp_path: Path, in_process: bool) -> None:
    position = _register(tmp_path)
    settings = Settings.from_env(
        {
            "REGENZET_DATA_DIR": str(tmp_path),
            "REGENZET_FOLLOWERS_IN_PROCESS": "on" if in_process else "off",
        }
    )
    with TestClient(http_app_from_settings(settings)) as client:
        assert client.get("/ready").status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _board_position(tmp_path) < position:
            time.sleep(0.05)
        if not in_process:
            time.sleep(0.5)  # give a (wrongly) running follower the time to move
        reached = _board_position(tmp_path)
    assert (reached >= position) is in_process
