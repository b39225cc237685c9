"""Optimistic concurrency over HTTP, on SQLite and Postgres: reads carry the version as an
ETag, writes take it back in If-Match, and a lost race is a 412 or a 409 — never a 500 and never
a silently overwritten change."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from regenzet.entrypoints.demo import demo_id

from .conftest import Api, order_id
from .test_idempotency import STORES, shared_api

CUSTOMERS = "/api/v1/customers"


@pytest.fixture(scope="module", params=STORES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One demo garage per store for this module; every test works on its own new customer."""
    yield from shared_api(request.param, tmp_path_factory)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def position(api: Api) -> int:
    return api.workshop.recorder.max_notification_id() or 0


def new_customer(api: Api) -> str:
    response = api.client.post(
        CUSTOMERS, json={"name": "Femke Bos", "email": "femke@example.nl"}, headers=api.auth("eva")
    )
    assert response.status_code == 201, response.text
    return f"{CUSTOMERS}/{response.json()['id']}"


def change_contact(api: Api, customer: str, email: str, **headers: str) -> httpx.Response:
    return api.client.post(
        f"{customer}/contact", json={"email": email}, headers=api.auth("eva", **headers)
    )


def etag_of(api: Api, path: str) -> str:
    response = api.client.get(path, headers=api.auth("pieter"))
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def run_together(count: int, work: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Runs ``work(i)`` on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            start.wait(timeout=5)
            response = work(i)
            with lock:
                responses.append(response)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert len(responses) == count
    return responses


# ---------------------------------------------------------------------------------------------
# ETag on reads
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"{CUSTOMERS}/{demo_id('customer:sanne')}", id="customer"),
        pytest.param(f"/api/v1/staff/{demo_id('staff:noor')}", id="staff"),
        pytest.param(f"/api/v1/repair-orders/{order_id('model3-hv')}", id="repair-order"),
    ],
)
def test_a_read_carries_its_version_as_a_strong_etag(api: Api, path: str) -> None:
    response = api.client.get(path, headers=api.auth("pieter"))
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'


# ---------------------------------------------------------------------------------------------
# If-Match on writes
# ---------------------------------------------------------------------------------------------


def test_a_write_with_the_current_etag_succeeds_and_returns_the_next_one(api: Api) -> None:
    customer = new_customer(api)
    current = etag_of(api, customer)
    assert current == '"1"'

    response = change_contact(api, customer, "femke@bos.example", **{"If-Match": current})

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json()["version"] == 2
    assert etag_of(api, customer) == '"2"'


@pytest.mark.parametrize(
    "if_match", ['"1"', 'W/"1"', "1", "*"], ids=["strong", "weak", "bare", "any"]
)
def test_every_accepted_form_of_if_match_is_honoured(api: Api, if_match: str) -> None:
    customer = new_customer(api)
    response = change_contact(api, customer, "femke@bos.example", **{"If-Match": if_match})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize("stale", ['"0"', '"2"', '"999"'])
def test_a_stale_if_match_is_a_412_with_the_current_etag(api: Api, stale: str) -> None:
    customer = new_customer(api)
    before = position(api)

    response = change_contact(api, customer, "femke@bos.example", **{"If-Match": stale})

    body = problem(response, 412)
    assert body["type"].endswith("/version-mismatch")
    assert response.headers["etag"] == '"1"'
    assert position(api) == before
    assert etag_of(api, customer) == '"1"'


MALFORMED_IF_MATCH = ["abc", '"1', '"-1"', '"1.5"', '"1", "2"', "W/1", '"' + "9" * 19 + '"']


def test_a_malformed_if_match_is_a_400_and_nothing_is_written(api: Api) -> None:
    customer = new_customer(api)
    before = position(api)
    for value in MALFORMED_IF_MATCH:
        body = problem(change_contact(api, customer, "x@bos.example", **{"If-Match": value}), 400)
        assert body["type"].endswith("/invalid-request"), value
    assert position(api) == before


def test_a_malformed_if_match_problem_names_the_header(api: Api) -> None:
    customer = new_customer(api)
    body = problem(change_contact(api, customer, "x@bos.example", **{"If-Match": "abc"}), 400)
    assert body["field"] == "If-Match"


# ---------------------------------------------------------------------------------------------
# Races
# ---------------------------------------------------------------------------------------------


def test_of_two_writers_who_read_the_same_version_the_second_gets_a_412(api: Api) -> None:
    customer = new_customer(api)
    read_by_first = etag_of(api, customer)
    read_by_second = etag_of(api, customer)

    first = change_contact(api, customer, "first@bos.example", **{"If-Match": read_by_first})
    second = change_contact(api, customer, "second@bos.example", **{"If-Match": read_by_second})

    assert first.status_code == 200, first.text
    problem(second, 412)
    assert second.headers["etag"] == first.headers["etag"] == '"2"'
    view = api.client.get(customer, headers=api.auth("eva")).json()
    assert view["email"] == "first@bos.example"  # the first change was not overwritten


def test_concurrent_writers_with_the_same_if_match_let_exactly_one_through(api: Api) -> None:
    customer = new_customer(api)

    responses = run_together(
        6, lambda i: change_contact(api, customer, f"w{i}@bos.example", **{"If-Match": '"1"'})
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.text for r in responses]
    for response in responses:
        assert response.status_code in (200, 409, 412), response.text
        if response.status_code == 409:
            assert response.json()["type"].endswith("/concurrent-change")
    assert etag_of(api, customer) == '"2"'


def test_concurrent_writers_without_if_match_never_get_a_500(api: Api) -> None:
    customer = new_customer(api)

    responses = run_together(8, lambda i: change_contact(api, customer, f"w{i}@bos.example"))

    for response in responses:
        assert response.status_code in (200, 409), response.text
        if response.status_code == 409:
            body = problem(response, 409)
            assert body["type"].endswith("/concurrent-change")
    succeeded = [r for r in responses if r.status_code == 200]
    assert succeeded
    # Every success is its own version: none was lost, none was written twice.
    versions = sorted(r.json()["version"] for r in succeeded)
    assert versions == list(range(2, 2 + len(succeeded)))
    assert etag_of(api, customer) == f'"{1 + len(succeeded)}"'
