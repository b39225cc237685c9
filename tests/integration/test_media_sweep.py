"""``regenzet media sweep``: unconfirmed uploads past their age go, everything else stays."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media import MediaObjectMissing, sweep_pending

from .test_cli import run


def upload(storage: LocalMediaStorage, data: bytes = b"\xff\xd8 photo") -> str:
    ticket = storage.issue_upload(
        f"pending/inspections/{uuid4()}/{uuid4()}",
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        expires_in=300,
    )
    with storage.begin_upload(ticket.fields) as received:
        received.write(data)
        received.finish()
    return ticket.key


def test_the_sweep_deletes_only_unconfirmed_uploads_past_their_age(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = LocalMediaStorage.in_data_dir(tmp_path, ManualClock(now - timedelta(hours=30)))
    fresh = LocalMediaStorage.in_data_dir(tmp_path, ManualClock(now - timedelta(hours=2)))
    stale, recent, confirmed = upload(old), upload(fresh), upload(old)
    old.move(confirmed, f"media/inspections/{uuid4()}/{uuid4()}/original")

    result = run(["media", "sweep"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert f"  {stale}\n" in result.stdout
    assert "deleted 1 unconfirmed upload(s) older than 24 h" in result.stdout
    with pytest.raises(MediaObjectMissing):
        fresh.head(stale)
    assert fresh.head(recent).size == len(b"\xff\xd8 photo")

    result = run(
        ["media", "sweep", "--older-than-hours", "1"],
        {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_MEDIA_PENDING_HOURS": "48"},
    )
    assert result.returncode == 0, result.stderr
    assert "deleted 1 unconfirmed upload(s) older than 1 h" in result.stdout
    assert list(fresh.pending_older_than(now + timedelta(days=1))) == []
    assert len(list((tmp_path / "media" / "media").rglob("original"))) == 1


def test_the_sweep_refuses_a_nonsense_age(tmp_path: Path) -> None:
    result = run(
        ["media", "sweep", "--older-than-hours", "0"], {"REGENZET_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    storage = LocalMediaStorage.in_data_dir(tmp_path, ManualClock(datetime.now(UTC)))
    with pytest.raises(ValueError):
        sweep_pending(storage, datetime.now(UTC), timedelta(0))
