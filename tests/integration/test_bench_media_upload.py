"""``scripts/bench media-upload`` end to end with a tiny file: the real route on uvicorn, the
copy anchors, the memory figure and the JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

from .bench_script import run_bench


def test_bench_media_upload_reports_throughput_and_leaves_nothing_behind(tmp_path: Path) -> None:
    result = run_bench(
        ["media-upload", "--size-mb", "2", "--rounds", "1"], {"REGENZET_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert (record["bench"], record["unit"], record["size_mb"]) == ("media-upload", "MiB/s", 2)
    assert record["value"] > 0
    assert record["anchor"] > 0
    assert record["copy_fsync"] > 0
    assert record["rss_growth_mb"] < 2  # never the whole body in memory
    assert "copy + fsync" in result.stdout
    assert list(tmp_path.iterdir()) == []
