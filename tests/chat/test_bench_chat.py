"""``scripts/bench chat`` end to end with tiny counts: it seeds throwaway storage, times the
offline assistant and ends with the JSON line the other benchmarks print."""

from __future__ import annotations

import json
from pathlib import Path

from ..integration.bench_script import run_bench


def test_bench_chat_reports_latency_and_overhead_per_round(tmp_path: Path) -> None:
    result = run_bench(
        ["chat", "--count", "16", "--rounds", "1"], {"REGENZET_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["bench"] == "chat"
    assert record["questions"] == 16
    assert record["p99_ms"] >= record["p50_ms"] > 0
    assert record["one_round_turn_ms"] > record["bare_query_ms"] > 0
    assert record["mean_tool_rounds"] >= 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("bench-")] == []
