"""Fail fast while Postgres is unreachable (issue 17): ``/ready`` and every data route answer
503 with ``Retry-After`` instead of hanging in the library's connection retries, and the API
recovers by itself when the database is back. Real Postgres behind a loopback proxy that cuts
every connection and refuses new ones.

The latencies are printed beside the normal ones (``-s``) for docs/benchmarks.md; they are
measurements, not assertions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from ..http.conftest import Api, customer_id
from .pgproxy import PgProxy

pytestmark = pytest.mark.postgres

FEMKE = {"name": "Femke Bos", "email": "femke@example.nl"}


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_with_postgres_unreachable_every_route_is_a_503_with_retry_after_and_recovers(
    proxied: tuple[Api, PgProxy],
) -> None:
    api, proxy = proxied
    c = api.client
    eva = api.auth("eva")
    sanne = f"/api/v1/customers/{customer_id('sanne')}"
    routes: dict[str, Callable[[], Any]] = {
        "GET /ready": lambda: c.get("/ready"),
        "POST /customers": lambda: c.post("/api/v1/customers", json=FEMKE, headers=eva),
        "POST /customers (key)": lambda: c.post(
            "/api/v1/customers", json=FEMKE, headers={**eva, "Idempotency-Key": f"o-{time.time()}"}
        ),
        "GET /customers/{id}": lambda: c.get(sanne, headers=eva),
    }
    normal = {name: [timed(call)[1] for _ in range(5)] for name, call in routes.items()}

    proxy.down()
    outage: dict[str, list[float]] = {}
    for name, call in routes.items():
        for _ in range(2):
            response, took = timed(call)
            assert response.status_code == 503, (name, response.text)
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["type"].endswith("/unavailable")
            outage.setdefault(name, []).append(took)

    proxy.up()
    deadline = time.monotonic() + 30
    while c.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover"
        time.sleep(0.2)
    assert c.post("/api/v1/customers", json=FEMKE, headers=eva).status_code == 201
    assert c.get(sanne, headers=eva).status_code == 200

    print()
    for name in routes:
        print(
            f"outage: {name:<24} normal median {statistics.median(normal[name]) * 1000:7.1f} ms"
            f"   postgres down max {max(outage[name]):5.2f} s"
        )
