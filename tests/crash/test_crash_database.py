"""Postgres stopped with ``-m immediate`` under load and restarted, several times, while
concurrent clients write with Idempotency-Keys and retry until acknowledged (issue 17). The
API keeps running: during the outage it answers 503, afterwards it reconnects by itself.
Criteria as for the API crash: nothing acknowledged lost, no key applied twice, identical
replays, gap-free versions, no 5xx but 503, read models equal a rebuild, the chain verifies.

It runs on a private throwaway cluster (tests/crash/cluster.py) on a free loopback port, never
on the shared server, and the cluster is always removed afterwards.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from ..integration.test_serve import free_port
from .cluster import PrivateCluster
from .harness import ApiProcess, check_criteria, server_env, writers
from .stores import read_models_equal_a_rebuild, verify_audit_chain

pytestmark = pytest.mark.postgres

# REGENZET_CRASH_PG_PORT fixes the port; by default a free loopback port is taken per test, so
# a cluster left behind by a killed run (or a second run beside this one) cannot collide.
PORT = os.environ.get("REGENZET_CRASH_PG_PORT")
WRITERS = 6


@pytest.fixture
def cluster(postgres_dsn: str) -> Iterator[PrivateCluster]:
    # postgres_dsn: only where Postgres tests run (CI); the shared server is not touched.
    del postgres_dsn
    private = PrivateCluster(int(PORT) if PORT else free_port())
    try:
        private.start()
        yield private
    finally:
        private.destroy()


def test_postgres_stopped_hard_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, cluster: PrivateCluster
) -> None:
    stops = int(os.environ.get("REGENZET_CRASH_DB_STOPS", "2"))
    schema = "crash"
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    env = server_env(cluster.dsn, schema, tmp_path, REGENZET_PG_CONNECT_TIMEOUT="2")
    api = ApiProcess(env, free_port(), tmp_path / "api.log")
    rng = random.Random(17)
    recovered: list[float] = []
    api.start()
    with writers(api, env, WRITERS, seconds=120 + stops * 60) as tally:
        for _ in range(stops):
            time.sleep(rng.uniform(1.0, 3.0))
            cluster.stop_immediately()
            time.sleep(rng.uniform(1.0, 3.0))
            assert httpx.get(f"{api.base}/ready", timeout=5).status_code == 503
            cluster.start()
            started = time.monotonic()
            while httpx.get(f"{api.base}/ready", timeout=5).status_code != 200:
                assert time.monotonic() - started < 60, "the API did not reconnect"
                time.sleep(0.05)
            recovered.append(time.monotonic() - started)

    check_criteria(cluster.dsn, schema, tally)
    assert read_models_equal_a_rebuild(env)
    verify_audit_chain(env)
    print(
        f"\ncrash-db: stops={stops} acknowledged={len(tally.acknowledged)}"
        f" attempts={sum(tally.attempts.values())} retries={tally.retries}"
        f" replays={tally.replays} statuses={dict(tally.statuses)}"
        f" db_restart_to_ready_s=max {max(recovered):.2f} all {[round(r, 2) for r in recovered]}"
    )
