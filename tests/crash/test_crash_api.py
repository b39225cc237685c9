"""The API SIGKILLed again and again while concurrent clients write with Idempotency-Keys and
retry until acknowledged (issue 17). Real ``regenzet serve`` processes on loopback, real
Postgres. Afterwards: no acknowledged write lost, no key applied twice, every retry of an
applied key got the same response, gap-free versions, no 5xx but 503, read models equal a
rebuild, and the audit chain verifies.

The size is set by REGENZET_CRASH_KILLS (default 4) so CI stays within a minute or two; the
figures are printed (``-s``) for docs/benchmarks.md.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from ..integration.test_serve import free_port
from .harness import ApiProcess, check_criteria, server_env, writers
from .stores import read_models_equal_a_rebuild, verify_audit_chain

pytestmark = pytest.mark.postgres

WRITERS = 6


def test_sigkill_under_concurrent_idempotent_writers_loses_and_duplicates_nothing(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> None:
    kills = int(os.environ.get("REGENZET_CRASH_KILLS", "4"))
    env = server_env(postgres_dsn, postgres_schema, tmp_path)
    api = ApiProcess(env, free_port(), tmp_path / "api.log")
    rng = random.Random(17)
    api.start()
    with writers(api, env, WRITERS, seconds=120 + kills * 60) as tally:
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 2.0))  # writes in flight at a random moment
            api.kill()
            api.start()

    check_criteria(postgres_dsn, postgres_schema, tally)
    assert read_models_equal_a_rebuild(env)
    verify_audit_chain(env)
    ready = sorted(api.ready_times[1:])
    print(
        f"\ncrash-api: kills={kills} acknowledged={len(tally.acknowledged)}"
        f" attempts={sum(tally.attempts.values())} retries={tally.retries}"
        f" replays={tally.replays} transport_errors={tally.transport_errors}"
        f" statuses={dict(tally.statuses)}"
        f" restart_to_ready_s=median {ready[len(ready) // 2]:.2f} max {ready[-1]:.2f}"
    )
