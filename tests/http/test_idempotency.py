"""Idempotency-Key over HTTP, on SQLite and Postgres: a retried write is replayed without
touching the event store, a reused key is refused, a failed write is forgotten, and a burst of
identical retries creates exactly one record."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import msgspec
import psycopg
import pytest
from litestar import Request
from psycopg import sql

from regenzet.adapters.persistence import sqlite_env
from regenzet.application.access import InProcess
from regenzet.application.commands import CancelRepairOrder
from regenzet.application.idempotency import PendingKey, recording
from regenzet.application.workshop import Receipt
from regenzet.domain.common import Actor, Role
from regenzet.entrypoints.demo import demo_id
from regenzet.entrypoints.http.schemas import Cancel
from regenzet.entrypoints.http.writes import Writes, _stored

from ..conftest import _postgres_dsn, postgres_store_env
from .conftest import Api, build_api

CUSTOMERS = "/api/v1/customers"
FEMKE = {"name": "Femke Bos", "email": "femke@example.nl", "phone": "+31 6 5555 0000"}
MODEL3_VIN = "5YJ3E1EA2KF317000"  # sanne's; its demo order is closed, so a new one may open


ADVISOR_EVA = Actor("advisor-eva", Role.ADVISOR)
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def shared_api(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The demo garage behind the API on ``store``, shared by one module's tests (building an
    app is the slow part). Tests sharing it use their own keys and records; those that move
    the clock a day or count purged keys use the function-scoped ``api`` instead."""
    data_dir = tmp_path_factory.mktemp(store)
    if store == "sqlite":
        yield from build_api(data_dir, sqlite_env(data_dir / "regenzet.db"))
        return
    dsn = _postgres_dsn()
    name = f"t_{uuid.uuid4().hex[:12]}"
    schema = sql.Identifier(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    try:
        yield from build_api(data_dir, postgres_store_env(dsn, name))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


@pytest.fixture(scope="module", params=STORES)
def garage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from shared_api(request.param, tmp_path_factory)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def position(api: Api) -> int:
    return api.workshop.recorder.max_notification_id() or 0


def registrations(api: Api) -> list[str]:
    """Ids of every customer registered so far, from the event log itself."""
    notifications = api.workshop.recorder.select_notifications(start=1, limit=10_000)
    return [str(n.originator_id) for n in notifications if n.topic.endswith(":Customer.Registered")]


def with_key(api: Api, who: str, key: str, **headers: str) -> dict[str, str]:
    return api.auth(who, **{"Idempotency-Key": key, **headers})


def fingerprint_of(method: str, path: str, body: msgspec.Struct | None) -> str:
    """The fingerprint the API computes for a request, by the API's own code."""
    scope: Any = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("testserver", 80),
        "state": {},
    }
    writes = Writes(Request(scope), None, None, None, None)  # type: ignore[arg-type]
    return writes._fingerprint(body)


def open_order(api: Api) -> str:
    vehicle_id = api.workshop.find_vehicle_id(MODEL3_VIN)
    response = api.client.post(
        "/api/v1/repair-orders",
        json={
            "vehicle_id": str(vehicle_id),
            "customer_id": str(demo_id("customer:sanne")),
            "concerns": ["Rattle at low speed"],
            "odometer_in_km": 50_000,
        },
        headers=api.auth("eva"),
    )
    assert response.status_code == 201, response.text
    return f"/api/v1/repair-orders/{response.json()['id']}"


# ---------------------------------------------------------------------------------------------
# Replay
# ---------------------------------------------------------------------------------------------


def test_a_retried_create_is_replayed_without_writing_again(garage: Api) -> None:
    headers = with_key(garage, "eva", "create-femke-1")
    first = garage.client.post(CUSTOMERS, json=FEMKE, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    before = position(garage)

    again = garage.client.post(CUSTOMERS, json=FEMKE, headers=headers)

    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert position(garage) == before
    assert registrations(garage).count(first.json()["id"]) == 1


def test_a_replay_returns_the_first_response_even_after_the_record_moved_on(garage: Api) -> None:
    created = garage.client.post(CUSTOMERS, json=FEMKE, headers=garage.auth("eva")).json()
    contact = f"{CUSTOMERS}/{created['id']}/contact"
    headers = with_key(garage, "eva", "femke-contact", **{"If-Match": '"1"'})
    first = garage.client.post(contact, json={"email": "femke@bos.example"}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"2"'
    moved = garage.client.post(contact, json={"email": "f@bos.example"}, headers=garage.auth("eva"))
    assert moved.headers["etag"] == '"3"'
    before = position(garage)

    # A stale If-Match would be a 412 if it ran again: it does not run, it is replayed.
    again = garage.client.post(contact, json={"email": "femke@bos.example"}, headers=headers)

    assert again.status_code == 200, again.text
    assert again.content == first.content
    assert again.headers["etag"] == '"2"'
    assert again.headers["idempotent-replayed"] == "true"
    assert position(garage) == before


# ---------------------------------------------------------------------------------------------
# Reuse, scope and malformed keys
# ---------------------------------------------------------------------------------------------


def test_a_key_reused_for_another_request_is_a_422_naming_the_header(garage: Api) -> None:
    headers = with_key(garage, "eva", "reused-key")
    first = garage.client.post(CUSTOMERS, json=FEMKE, headers=headers)
    assert first.status_code == 201, first.text
    before = position(garage)

    other_body = garage.client.post(CUSTOMERS, json={**FEMKE, "name": "Femke B."}, headers=headers)
    contact = f"{CUSTOMERS}/{first.json()['id']}/contact"
    other_path = garage.client.post(contact, json={"email": "femke@example.nl"}, headers=headers)

    for response in (other_body, other_path):
        refused = problem(response, 422)
        assert refused["field"] == "Idempotency-Key"
        assert refused["type"].endswith("/idempotency-key-reused")
    assert position(garage) == before


def test_the_same_key_from_another_subject_is_independent(garage: Api) -> None:
    key = "shared-key-1"
    eva = garage.client.post(CUSTOMERS, json=FEMKE, headers=with_key(garage, "eva", key))
    pieter = garage.client.post(CUSTOMERS, json=FEMKE, headers=with_key(garage, "pieter", key))
    # Another subject with the same key and a different body is not a reuse either.
    other = {**FEMKE, "name": "Someone Else"}
    manager_again = garage.client.post(CUSTOMERS, json=other, headers=with_key(garage, "eva", "k2"))

    assert (eva.status_code, pieter.status_code, manager_again.status_code) == (201, 201, 201)
    assert "idempotent-replayed" not in pieter.headers
    assert eva.json()["id"] != pieter.json()["id"]
    assert {eva.json()["id"], pieter.json()["id"]} <= set(registrations(garage))


def test_a_malformed_key_is_a_400_and_nothing_is_written(garage: Api) -> None:
    before = position(garage)
    for key in ("k" * 256, "k" * 1000, "has space", "tab\there", "caf\u00e9"):
        headers = {**garage.auth("eva"), "Idempotency-Key": key}
        raw = {k.encode(): v.encode("utf-8") for k, v in headers.items()}
        refused = problem(garage.client.post(CUSTOMERS, json=FEMKE, headers=raw), 400)
        assert refused["type"].endswith("/invalid-request"), key
        assert refused["field"] == "Idempotency-Key", key
    assert position(garage) == before


def test_a_key_of_exactly_255_visible_characters_is_accepted(garage: Api) -> None:
    key = "!" + "k" * 253 + "~"
    response = garage.client.post(CUSTOMERS, json=FEMKE, headers=with_key(garage, "eva", key))
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------------------------------------
# Failures are forgotten; claims in progress are refused until their lease runs out
# ---------------------------------------------------------------------------------------------


def test_a_failed_write_is_not_remembered_and_its_retry_runs_again(garage: Api) -> None:
    ro = open_order(garage)
    headers = with_key(garage, "eva", "send-quote-1")

    # An open order has no quote to send yet: refused, nothing written, key released.
    before = position(garage)
    assert problem(garage.client.post(f"{ro}/quote/send", headers=headers), 409)["rule"]
    assert position(garage) == before

    job = {
        "job_id": "rattle",
        "title": "Find the rattle",
        "labour": [{"description": "Road test", "hours": "0.5", "rate": "95.00"}],
    }
    added = garage.client.post(f"{ro}/jobs", json=job, headers=garage.auth("eva"))
    assert added.status_code == 200, added.text
    retried = garage.client.post(f"{ro}/quote/send", headers=headers)

    assert retried.status_code == 200, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert garage.client.get(ro, headers=garage.auth("eva")).json()["status"] == "awaiting_approval"
    replayed = garage.client.post(f"{ro}/quote/send", headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == retried.content


def test_a_validation_failure_is_not_remembered_either(garage: Api) -> None:
    headers = with_key(garage, "eva", "bad-email")
    bad = {**FEMKE, "email": "not-an-email"}
    assert (
        problem(garage.client.post(CUSTOMERS, json=bad, headers=headers), 422)["field"] == "email"
    )
    # The key was released, so the corrected body is not a "reuse for a different request".
    assert garage.client.post(CUSTOMERS, json=FEMKE, headers=headers).status_code == 201


def test_a_retry_that_loses_the_race_to_its_first_attempt_gets_the_stored_response(
    garage: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt (in another API process) commits while the retry's command is
    # running: the retry then fails on the rules (the order is cancelled already), and its
    # answer is the response the first attempt stored, not a 409.
    ro = open_order(garage)
    order = UUID(ro.rsplit("/", 1)[1])
    path = f"{ro}/cancel"
    body = {"reason": "Customer withdrew"}
    fingerprint = fingerprint_of("POST", path, msgspec.convert(body, Cancel))
    subject = garage.logins["eva"].subject
    real_execute = garage.workshop.execute
    stored: list[PendingKey] = []

    def first_attempt_commits_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not stored:
            first = PendingKey(
                subject,
                "cancel-race",
                fingerprint,
                garage.clock.now(),
                garage.services.idempotency.retention,
                lambda i, v, p: _stored(Receipt(i, v, p), None),
            )
            cancel = CancelRepairOrder(repair_order_id=order, reason="Customer withdrew")
            with recording(first):
                real_execute(cancel, InProcess(ADVISOR_EVA))
            stored.append(first)
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(garage.workshop, "execute", first_attempt_commits_meanwhile)
    retry = garage.client.post(path, json=body, headers=with_key(garage, "eva", "cancel-race"))
    monkeypatch.undo()

    assert stored[0].response is not None
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == stored[0].response.body
    assert garage.client.get(ro, headers=garage.auth("eva")).headers["etag"] == '"2"'


def test_concurrent_identical_retries_create_exactly_one_customer(garage: Api) -> None:
    headers = with_key(garage, "eva", "burst-1")
    before = set(registrations(garage))
    start = threading.Barrier(8)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            start.wait(timeout=5)
            response = garage.client.post(CUSTOMERS, json=FEMKE, headers=headers)
            with lock:
                responses.append(response)
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert not errors
    assert len(responses) == 8
    created = set(registrations(garage)) - before
    assert len(created) == 1, created
    (customer,) = created
    # Every racer gets the one customer: the others' transactions were refused by the key
    # and they replayed the winner's response.
    for response in responses:
        assert response.status_code == 201, response.text
        assert response.json()["id"] == customer
    # Exactly one request's command was applied; every other 201 is a replay of it.
    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1
    # Once the burst is over the key replays the one customer.
    settled = garage.client.post(CUSTOMERS, json=FEMKE, headers=headers)
    assert settled.json()["id"] == customer
    assert settled.headers["idempotent-replayed"] == "true"


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------


def test_an_expired_key_acts_again_even_before_it_is_purged(api: Api) -> None:
    headers = with_key(api, "eva", "old-key")
    first = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)
    assert first.status_code == 201, first.text

    api.clock.advance(timedelta(hours=23))
    assert api.client.post(CUSTOMERS, json=FEMKE, headers=headers).headers.get(
        "idempotent-replayed"
    ) == ("true")

    api.clock.advance(timedelta(hours=1, minutes=1))
    later = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)

    assert later.status_code == 201, later.text
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert later.json()["id"] in registrations(api)


def test_purging_forgets_expired_keys_only(api: Api) -> None:
    old = api.client.post(CUSTOMERS, json=FEMKE, headers=with_key(api, "eva", "purge-old"))
    api.clock.advance(timedelta(hours=20))
    recent = api.client.post(CUSTOMERS, json=FEMKE, headers=with_key(api, "eva", "purge-new"))
    assert (old.status_code, recent.status_code) == (201, 201)
    api.clock.advance(timedelta(hours=5))

    assert api.services.idempotency.purge_expired(now=api.clock.now()) == 1

    acts = api.client.post(CUSTOMERS, json=FEMKE, headers=with_key(api, "eva", "purge-old"))
    replays = api.client.post(CUSTOMERS, json=FEMKE, headers=with_key(api, "eva", "purge-new"))
    assert acts.status_code == 201
    assert "idempotent-replayed" not in acts.headers
    assert acts.json()["id"] != old.json()["id"]
    assert replays.headers["idempotent-replayed"] == "true"
    assert replays.content == recent.content
