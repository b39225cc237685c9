"""Every error is an RFC 9457 problem with the request id, nothing internal leaks, a store outage
is a 503 with Retry-After, and rate limits hold per client address and per subject.

The address and token-bucket rules with proxies in front are unit-tested directly
(``client_address``, ``RateLimiter``): the test client's peer is "testclient", not an IP.
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import attrs
import psycopg
import pytest
from eventsourcing import persistence as es_persistence
from eventsourcing.persistence import ApplicationRecorder
from litestar.testing import TestClient

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import DatabaseUnavailableError, sqlite_env
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import http_services, token_verifier, workshop_for
from regenzet.entrypoints.demo import demo_id, demo_logins
from regenzet.entrypoints.http.app import create_app
from regenzet.entrypoints.http.problems import PROBLEM_BASE, TITLES
from regenzet.entrypoints.http.security import RateLimiter, client_address, parse_networks
from regenzet.entrypoints.settings import Settings

from .conftest import Api, demo_settings, order_id
from .test_idempotency import STORES, shared_api

CUSTOMERS = "/api/v1/customers"
FEMKE = {"name": "Femke Bos", "email": "femke@example.nl"}
# What must never reach a client, whatever went wrong.
LEAKS = ("Traceback", "SELECT", "psycopg", "sqlite", "eventsourcing", 'File "', "/work/")


@pytest.fixture(scope="module", params=STORES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One demo garage per store for this module (no test here depends on another's writes)."""
    yield from shared_api(request.param, tmp_path_factory)


def bare_api(
    tmp_path: Path, settings: Settings, workshop_type: type[Workshop] = Workshop
) -> Iterator[Api]:
    """An API on an empty SQLite store (no demo data: these tests only need tokens)."""
    env = sqlite_env(tmp_path / "regenzet.db")
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    workshop = workshop_for(env, clock, workshop_type=workshop_type)
    services = http_services(settings, workshop, env, verifier=token_verifier(settings))
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield Api(client, workshop, clock, settings, services, demo_logins())
    finally:
        services.idempotency.close()
        workshop.close()


def problem(response: Any, status: int) -> dict[str, Any]:
    """Asserts the full problem-details shape and returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].startswith(PROBLEM_BASE)
    assert body["title"] == TITLES[status]
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    rid = response.headers["x-request-id"]
    assert body["request_id"] == rid
    assert body["instance"] == f"urn:request:{rid}"
    for leak in LEAKS:
        assert leak.lower() not in response.text.lower(), (leak, response.text)
    return body


def json_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured payload the JSON formatter writes for a record."""
    payload = record.__dict__["json"]
    assert isinstance(payload, dict)
    return payload


def open_order(api: Api) -> str:
    response = api.client.post(
        "/api/v1/repair-orders",
        json={
            "vehicle_id": str(api.workshop.find_vehicle_id("5YJ3E1EA2KF317000")),
            "customer_id": str(demo_id("customer:sanne")),
            "concerns": ["Rattle at low speed"],
            "odometer_in_km": 50_000,
        },
        headers=api.auth("eva"),
    )
    assert response.status_code == 201, response.text
    return f"/api/v1/repair-orders/{response.json()['id']}"


# ---------------------------------------------------------------------------------------------
# One problem shape for every status
# ---------------------------------------------------------------------------------------------


def test_an_unknown_body_field_is_a_400_naming_it(api: Api) -> None:
    body = problem(
        api.client.post(CUSTOMERS, json={**FEMKE, "owner": "me"}, headers=api.auth("eva")), 400
    )
    assert body["type"] == PROBLEM_BASE + "invalid-request"
    assert body["field"] == "owner"
    assert body["errors"][0]["field"] == "owner"


def test_a_value_of_the_wrong_type_is_a_400_naming_the_field(api: Api) -> None:
    body = problem(
        api.client.post(CUSTOMERS, json={**FEMKE, "name": 5}, headers=api.auth("eva")), 400
    )
    assert body["field"] == "name"
    assert body["errors"][0]["source"] == "body"


def test_a_nested_field_is_named_by_its_path(api: Api) -> None:
    body = {**FEMKE, "preferences": {"sms": "yes"}}
    refused = problem(api.client.post(CUSTOMERS, json=body, headers=api.auth("eva")), 400)
    assert refused["field"] == "preferences.sms"


def test_a_body_that_is_not_json_is_a_400(api: Api) -> None:
    headers = api.auth("eva", **{"Content-Type": "application/json"})
    problem(api.client.post(CUSTOMERS, content=b"{not json", headers=headers), 400)


def test_a_body_over_the_size_limit_is_a_413(api: Api) -> None:
    headers = api.auth("eva", **{"Content-Type": "application/json"})
    big = b'{"name": "' + b"x" * (300 * 1024) + b'"}'
    problem(api.client.post(CUSTOMERS, content=big, headers=headers), 413)


def test_no_token_is_a_401(api: Api) -> None:
    response = api.client.get(CUSTOMERS + f"/{demo_id('customer:sanne')}")
    body = problem(response, 401)
    assert body["type"] == PROBLEM_BASE + "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_role_without_the_operation_is_a_403(api: Api) -> None:
    body = problem(api.client.post(CUSTOMERS, json=FEMKE, headers=api.auth("sanne")), 403)
    assert body["type"] == PROBLEM_BASE + "forbidden"
    assert "registerCustomer" in body["detail"]


def test_an_unknown_record_is_a_404(api: Api) -> None:
    body = problem(api.client.get(f"{CUSTOMERS}/{uuid4()}", headers=api.auth("eva")), 404)
    assert body["type"] == PROBLEM_BASE + "not-found"


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/no-such-thing", "/api/v2/me"])
def test_an_unknown_route_is_a_404_problem(api: Api, path: str) -> None:
    body = problem(api.client.get(path, headers=api.auth("eva")), 404)
    assert body["type"] == PROBLEM_BASE + "not-found"


def test_an_unsupported_method_is_a_405_problem(api: Api) -> None:
    response = api.client.delete("/api/v1/me", headers=api.auth("eva"))
    problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_a_command_in_the_wrong_state_is_a_409_with_rule_and_current_state(api: Api) -> None:
    ro = open_order(api)
    body = problem(api.client.post(f"{ro}/invoice", headers=api.auth("eva")), 409)
    assert body["type"] == PROBLEM_BASE + "invalid-state"
    assert body["rule"] == "invalid_state"
    assert body["current_state"] == "open"


def test_a_duplicate_is_a_409_naming_the_unique_rule(api: Api) -> None:
    vehicle = {
        "vin": "5YJ3E1EA2KF317000",  # sanne's Model 3 is already registered
        "plate": "X-001-X",
        "model": "Model 3",
        "year": 2019,
        "battery_kwh": "75",
        "nominal_voltage_v": "350",
        "owner_id": str(demo_id("customer:lukas")),
    }
    body = problem(api.client.post("/api/v1/vehicles", json=vehicle, headers=api.auth("eva")), 409)
    assert body["type"] == PROBLEM_BASE + "duplicate"
    assert body["rule"] == "unique"


def test_a_stale_version_is_a_412(api: Api) -> None:
    path = f"{CUSTOMERS}/{demo_id('customer:lukas')}/contact"
    headers = api.auth("eva", **{"If-Match": '"41"'})
    response = api.client.post(path, json={"email": "l@example.de"}, headers=headers)
    assert problem(response, 412)["type"] == PROBLEM_BASE + "version-mismatch"
    assert response.headers["etag"] == '"1"'


def test_a_value_the_domain_refuses_is_a_422_naming_the_field(api: Api) -> None:
    response = api.client.post(
        CUSTOMERS, json={**FEMKE, "email": "not-an-email"}, headers=api.auth("eva")
    )
    body = problem(response, 422)
    assert body["type"] == PROBLEM_BASE + "validation"
    assert body["field"] == "email"


def test_a_staff_only_channel_from_a_customer_is_a_422_naming_it(api: Api) -> None:
    path = f"/api/v1/repair-orders/{order_id('leaf-balance')}/jobs/balance/approve"
    response = api.client.post(path, json={"channel": "phone"}, headers=api.auth("lukas"))
    assert problem(response, 422)["field"] == "channel"


# ---------------------------------------------------------------------------------------------
# Request ids and the JSON log line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["req-42", "3f2a.b:c_d-E", "x" * 128])
def test_a_sane_incoming_request_id_is_echoed(api: Api, rid: str) -> None:
    c = api.client
    ok = c.get("/api/v1/me", headers=api.auth("eva", **{"X-Request-ID": rid}))
    refused = c.get("/api/v1/me", headers={"X-Request-ID": rid})
    health = c.get("/health", headers={"X-Request-ID": rid})
    assert ok.headers["x-request-id"] == refused.headers["x-request-id"] == rid
    assert health.headers["x-request-id"] == rid
    assert problem(refused, 401)["request_id"] == rid


@pytest.mark.parametrize(
    "rid",
    [
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("x" * 500, id="500-chars"),
        pytest.param("x" * 129, id="129-chars"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("a/b?c", id="slash"),
        pytest.param("", id="empty"),
    ],
)
def test_an_insane_request_id_is_replaced(api: Api, rid: str) -> None:
    response = api.client.get("/api/v1/me", headers={"X-Request-ID": rid})
    body = problem(response, 401)
    new = response.headers["x-request-id"]
    assert new != rid
    assert len(new) == 32
    assert int(new, 16) >= 0  # a fresh hex UUID
    assert body["request_id"] == new
    if rid:
        assert rid not in response.text


def test_every_request_gets_its_own_request_id(api: Api) -> None:
    ids = {api.client.get("/health").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_an_error_is_logged_as_one_json_record_with_the_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="regenzet.http")
    response = api.client.get(
        f"{CUSTOMERS}/{uuid4()}", headers=api.auth("eva", **{"X-Request-ID": "trace-404"})
    )
    problem(response, 404)

    records = [r for r in caplog.records if r.name == "regenzet.http" and hasattr(r, "json")]
    assert len(records) == 1
    (record,) = records
    logged = json_of(record)
    assert logged["request_id"] == "trace-404" == response.headers["x-request-id"]
    assert logged["status"] == 404
    assert logged["event"] == "request_failed"
    assert logged["problem"] == "not-found"
    assert logged["method"] == "GET"
    assert logged["path"].startswith(CUSTOMERS)
    assert record.levelno == logging.INFO  # a client error is not an operator's alarm


# ---------------------------------------------------------------------------------------------
# The store goes down: 503 with Retry-After, liveness unaffected
# ---------------------------------------------------------------------------------------------


class BreakableRecorder:
    """The real recorder, which can be made to fail like an unreachable database would."""

    def __init__(self, inner: ApplicationRecorder) -> None:
        self._inner = inner
        self.failure: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        failure = self.failure
        if failure is None or not callable(attr):
            return attr

        def fail(*_: Any, **__: Any) -> Any:
            raise failure

        return fail


class BreakableWorkshop(Workshop):
    """The real workshop on a recorder the test can take down (events, reads and /ready)."""

    def construct_recorder(self) -> Any:
        self.breakable = BreakableRecorder(super().construct_recorder())
        return self.breakable


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Api]:
    yield from bare_api(tmp_path, demo_settings(tmp_path), BreakableWorkshop)


def breakable(api: Api) -> BreakableRecorder:
    assert isinstance(api.workshop, BreakableWorkshop)
    return api.workshop.breakable


OUTAGES = [
    sqlite3.OperationalError(
        "unable to open database file /var/lib/regenzet/regenzet.db: SELECT * FROM stored_events"
    ),
    sqlite3.DatabaseError("file is not a database"),
    es_persistence.OperationalError("sqlite3.OperationalError: database is locked"),
    psycopg.OperationalError(
        "connection to server at 10.0.3.7, port 5432 failed: password=hunter2 SELECT 1"
    ),
    DatabaseUnavailableError("the database at db.internal:5432 is unavailable"),
]


def test_a_store_outage_is_a_503_with_retry_after_and_liveness_stays_up(
    outage: Api, caplog: pytest.LogCaptureFixture
) -> None:
    c, eva = outage.client, outage.auth("eva")
    created = c.post(CUSTOMERS, json=FEMKE, headers=eva)
    assert created.status_code == 201, created.text
    caplog.set_level(logging.INFO, logger="regenzet.http")

    for failure in OUTAGES:
        caplog.clear()
        assert c.get("/ready").status_code == 200
        breakable(outage).failure = failure
        responses = {
            "ready": c.get("/ready"),
            "read": c.get(created.headers["location"], headers=eva),
            "write": c.post(CUSTOMERS, json=FEMKE, headers=eva),
        }
        health = c.get("/health")
        breakable(outage).failure = None

        for response in responses.values():
            body = problem(response, 503)
            assert body["type"] == PROBLEM_BASE + "unavailable"
            assert int(response.headers["retry-after"]) >= 1
            assert "hunter2" not in response.text
            assert "10.0.3.7" not in response.text
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        # The operator gets the whole story: an error-level JSON line with the exception.
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR and hasattr(r, "json")]
        assert len(errors) == 3, failure
        assert {json_of(r)["request_id"] for r in errors} == {
            r.headers["x-request-id"] for r in responses.values()
        }
        assert all(json_of(r)["status"] == 503 and r.exc_info for r in errors)

    assert c.get("/ready").status_code == 200


def test_a_write_that_failed_in_an_outage_runs_again_with_the_same_key(outage: Api) -> None:
    c = outage.client
    headers = outage.auth("eva", **{"Idempotency-Key": "during-outage"})
    breakable(outage).failure = sqlite3.OperationalError("disk I/O error")
    problem(c.post(CUSTOMERS, json=FEMKE, headers=headers), 503)

    breakable(outage).failure = None
    retried = c.post(CUSTOMERS, json=FEMKE, headers=headers)

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


# ---------------------------------------------------------------------------------------------
# Rate limits over HTTP
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """An API with the limits the test names: ``@pytest.mark.parametrize`` on ``limits``."""
    limits: dict[str, Any] = request.param
    # demo_settings turns both limits off; evolve sets the one under test.
    yield from bare_api(tmp_path, attrs.evolve(demo_settings(tmp_path), **limits))


@pytest.mark.parametrize("limited", [{"rate_limit_per_ip": 3}], indirect=True)
def test_the_fourth_request_from_one_address_is_a_429_with_retry_after(limited: Api) -> None:
    c, eva = limited.client, limited.auth("eva")
    assert [c.get("/api/v1/me", headers=eva).status_code for _ in range(3)] == [200, 200, 200]

    response = c.get("/api/v1/me", headers=eva)

    body = problem(response, 429)
    assert body["type"] == PROBLEM_BASE + "rate-limited"
    # 3 a minute: the next token is 20 s away.
    assert 1 <= int(response.headers["retry-after"]) <= 20


@pytest.mark.parametrize("limited", [{"rate_limit_per_ip": 3}], indirect=True)
def test_unauthenticated_attempts_spend_the_address_budget(limited: Api) -> None:
    c = limited.client
    guesses = [c.get("/api/v1/me", headers={"Authorization": "Bearer guess"}) for _ in range(3)]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    # Token guessing is throttled before the token is even looked at; so is a valid caller
    # from the same address.
    problem(c.get("/api/v1/me", headers={"Authorization": "Bearer guess"}), 429)
    problem(c.get("/api/v1/me", headers=limited.auth("eva")), 429)


@pytest.mark.parametrize("limited", [{"rate_limit_per_ip": 3}], indirect=True)
def test_a_spoofed_forwarded_for_does_not_reset_the_address_budget(limited: Api) -> None:
    c, eva = limited.client, limited.auth("eva")
    statuses = [
        c.get("/api/v1/me", headers={**eva, "X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(6)
    ]
    assert statuses == [200, 200, 200, 429, 429, 429]
    also_real_ip = {**eva, "X-Real-IP": "198.51.100.9", "Forwarded": "for=198.51.100.9"}
    assert c.get("/api/v1/me", headers=also_real_ip).status_code == 429


@pytest.mark.parametrize("limited", [{"rate_limit_per_ip": 2}], indirect=True)
def test_health_and_readiness_are_not_rate_limited(limited: Api) -> None:
    c = limited.client
    for _ in range(5):
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 200
    assert c.get("/api/v1/me", headers=limited.auth("eva")).status_code == 200


@pytest.mark.parametrize("limited", [{"rate_limit_per_subject": 2}], indirect=True)
def test_each_subject_has_its_own_budget(limited: Api) -> None:
    c = limited.client
    eva = [c.get("/api/v1/me", headers=limited.auth("eva")) for _ in range(3)]
    lukas = [c.get("/api/v1/me", headers=limited.auth("lukas")) for _ in range(3)]

    assert [r.status_code for r in eva] == [200, 200, 429]
    assert [r.status_code for r in lukas] == [200, 200, 429]
    assert int(eva[-1].headers["retry-after"]) >= 1
    problem(eva[-1], 429)


@pytest.mark.parametrize("limited", [{"rate_limit_per_subject": 2}], indirect=True)
def test_a_fresh_token_for_the_same_subject_shares_its_budget(limited: Api) -> None:
    c = limited.client
    # auth() mints a new token each time: the budget follows the subject, not the token.
    statuses = [c.get("/api/v1/me", headers=limited.auth("pieter")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("limited", [{"rate_limit_per_subject": 1}], indirect=True)
def test_a_budget_refills_with_time(limited: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = limited.services.gatekeeper.per_subject
    now = [1000.0]
    monkeypatch.setattr(limiter, "_clock", lambda: now[0])
    c, eva = limited.client, limited.auth("eva")
    assert c.get("/api/v1/me", headers=eva).status_code == 200
    assert c.get("/api/v1/me", headers=eva).status_code == 429
    now[0] += 60.0
    assert c.get("/api/v1/me", headers=eva).status_code == 200


# ---------------------------------------------------------------------------------------------
# The client's address behind proxies (unit)
# ---------------------------------------------------------------------------------------------

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        pytest.param("198.51.100.7", "203.0.113.9", (), "198.51.100.7", id="no-proxy-trusted"),
        pytest.param("198.51.100.7", "203.0.113.9", PROXIES, "198.51.100.7", id="peer-untrusted"),
        pytest.param("10.0.0.2", "203.0.113.9", PROXIES, "203.0.113.9", id="one-hop"),
        pytest.param(
            "10.0.0.2", "1.1.1.1, 203.0.113.9", PROXIES, "203.0.113.9", id="spoofed-left-hop"
        ),
        pytest.param(
            "10.0.0.2",
            "1.1.1.1, 203.0.113.9, 10.0.0.7, 10.0.0.8",
            PROXIES,
            "203.0.113.9",
            id="right-most-untrusted-hop",
        ),
        pytest.param("10.0.0.2", "not-an-ip", PROXIES, "10.0.0.2", id="garbage"),
        pytest.param(
            "10.0.0.2", "203.0.113.9, not-an-ip", PROXIES, "10.0.0.2", id="garbage-right-most"
        ),
        pytest.param("10.0.0.2", "203.0.113.9:443", PROXIES, "10.0.0.2", id="port-is-garbage"),
        pytest.param("10.0.0.2", "", PROXIES, "10.0.0.2", id="empty-header"),
        pytest.param("10.0.0.2", " , ,", PROXIES, "10.0.0.2", id="only-commas"),
        pytest.param("10.0.0.2", None, PROXIES, "10.0.0.2", id="no-header"),
        pytest.param("10.0.0.2", "10.0.0.5, 10.0.0.6", PROXIES, "10.0.0.5", id="all-trusted"),
        pytest.param(
            "2001:db8:ffff::1", "2001:DB8:0:0::42", PROXIES, "2001:db8::42", id="ipv6-normalised"
        ),
        pytest.param(
            "2001:db8:ffff::1",
            "2001:db8::42, 2001:db8:ffff::9",
            PROXIES,
            "2001:db8::42",
            id="ipv6-behind-ipv6-proxies",
        ),
        pytest.param("127.0.0.1", "203.0.113.9", PROXIES, "203.0.113.9", id="single-address"),
        pytest.param("testclient", "203.0.113.9", PROXIES, "testclient", id="non-ip-peer"),
        pytest.param(None, "203.0.113.9", PROXIES, "unknown", id="no-peer"),
    ],
)
def test_the_client_address_is_the_right_most_untrusted_hop(
    peer: str | None, forwarded_for: str | None, trusted: Any, expected: str
) -> None:
    assert client_address(peer, forwarded_for, trusted) == expected


def test_an_ipv4_mapped_proxy_address_is_still_trusted() -> None:
    """A proxy on IPv4 seen through a dual-stack socket is the same trusted proxy."""
    assert client_address("::ffff:10.0.0.2", "203.0.113.9", PROXIES) == "203.0.113.9"
    # ... and an untrusted one does not become trusted by the mapping.
    assert client_address("::ffff:198.51.100.7", "203.0.113.9", PROXIES) != "203.0.113.9"


def test_the_resolved_address_is_always_an_ip_or_the_peer() -> None:
    for header in ("203.0.113.9", "x, y", "999.1.1.1", "::1%eth0", "2001:db8::1/64"):
        resolved = client_address("10.0.0.2", header, PROXIES)
        if resolved != "10.0.0.2":
            ipaddress.ip_address(resolved)


# ---------------------------------------------------------------------------------------------
# Token buckets (unit)
# ---------------------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_of_its_limit_then_says_how_long_to_wait() -> None:
    time = FakeTime()
    limiter = RateLimiter(3, period=60.0, clock=time)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(20.0)
    time.now += 5
    assert limiter.acquire("a") == pytest.approx(15.0)


def test_a_bucket_refills_at_its_rate_and_never_beyond_its_limit() -> None:
    time = FakeTime()
    limiter = RateLimiter(2, period=10.0, clock=time)
    assert limiter.acquire("a") == limiter.acquire("a") == 0.0
    time.now += 5  # one token back
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    time.now += 3600  # an hour idle still only buys a burst of 2
    assert [limiter.acquire("a") == 0.0 for _ in range(3)] == [True, True, False]


def test_refused_attempts_do_not_drain_the_bucket_further() -> None:
    time = FakeTime()
    limiter = RateLimiter(1, period=10.0, clock=time)
    assert limiter.acquire("a") == 0.0
    for _ in range(50):
        assert limiter.acquire("a") > 0
    time.now += 10
    assert limiter.acquire("a") == 0.0


def test_buckets_are_independent_per_key() -> None:
    limiter = RateLimiter(1, period=60.0, clock=FakeTime())
    assert limiter.acquire("203.0.113.9") == 0.0
    assert limiter.acquire("203.0.113.9") > 0
    assert limiter.acquire("203.0.113.10") == 0.0


def test_a_limit_of_zero_turns_the_limiter_off() -> None:
    limiter = RateLimiter(0, clock=FakeTime())
    assert all(limiter.acquire("a") == 0.0 for _ in range(1000))


def test_pruning_forgets_only_full_buckets_so_flooding_keys_resets_no_one() -> None:
    time = FakeTime()
    limiter = RateLimiter(1, period=60.0, clock=time, max_keys=3)
    assert limiter.acquire("attacker") == 0.0
    time.now += 30  # half refilled: still limited, and not prunable
    for i in range(20):
        limiter.acquire(f"flood-{i}")
        time.now += 0.01
    assert limiter.acquire("attacker") > 0


def test_pruning_bounds_memory_once_buckets_have_refilled() -> None:
    time = FakeTime()
    limiter = RateLimiter(5, period=60.0, clock=time, max_keys=10)
    for i in range(10):
        limiter.acquire(f"old-{i}")
    time.now += 120  # every old bucket is full again and carries no information
    limiter.acquire("new-0")
    limiter.acquire("new-1")
    assert len(limiter._buckets) <= 10


def test_a_deliberate_503_is_logged_as_a_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A read model that has not caught up is an answer, not a crash: the log line says why,
    # with no traceback an operator would mistake for one. An unexpected error keeps it.
    from litestar import Litestar, get

    from regenzet.entrypoints.http.problems import ApiError, problem_handler

    @get("/behind", sync_to_thread=False)
    def behind() -> None:
        raise ApiError(503, "read-model-behind", "the board has not reached position 7 yet")

    @get("/broken", sync_to_thread=False)
    def broken() -> None:
        raise RuntimeError("boom")

    app = Litestar(
        [behind, broken], exception_handlers={Exception: problem_handler}, logging_config=None
    )
    caplog.set_level(logging.DEBUG, logger="regenzet.http")
    with TestClient(app) as client:
        assert client.get("/behind").status_code == 503
        assert client.get("/broken").status_code == 500
    records = {
        json_of(r)["path"]: r
        for r in caplog.records
        if r.name == "regenzet.http" and hasattr(r, "json")
    }
    assert records["/behind"].exc_info is None
    assert records["/behind"].levelno == logging.WARNING
    assert json_of(records["/behind"])["detail"] == "the board has not reached position 7 yet"
    assert records["/broken"].exc_info is not None
    assert records["/broken"].levelno == logging.ERROR
