"""``scripts/bench media-confirm`` end to end, one round: the confirm of a 12 MP JPEG and HEIC
beside the bare Pillow anchor, and the JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

from .bench_script import run_bench


def test_bench_media_confirm_reports_both_formats_against_the_anchor(tmp_path: Path) -> None:
    result = run_bench(["media-confirm", "--rounds", "1"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert (record["bench"], record["unit"], record["rounds"]) == ("media-confirm", "ms", 1)
    assert record["value"] > record["anchor"] > 0  # the confirm does more than a thumbnail
    assert record["heic_ms"] > 0
    assert record["heic_anchor_ms"] > 0
    assert "HEIC" in result.stdout
