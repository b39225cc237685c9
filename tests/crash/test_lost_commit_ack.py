"""A commit whose acknowledgement is lost (the connection closes right after COMMIT reached
Postgres) is settled from the store: the write is answered once, with its stored response,
never re-run and never a 409 (issue 17, ADR 0024). Real Postgres behind a loopback proxy."""

from __future__ import annotations

import pytest

from ..http.conftest import Api
from .pgproxy import PgProxy

pytestmark = pytest.mark.postgres

CUSTOMERS = "/api/v1/customers"
FEMKE = {"name": "Femke Bos", "email": "femke@example.nl", "phone": "+31 6 5555 0000"}


def registrations(api: Api) -> list[str]:
    rows = api.workshop.recorder.select_notifications(start=1, limit=10_000)
    return [str(n.originator_id) for n in rows if n.topic.endswith(":Customer.Registered")]


def test_a_lost_acknowledgement_is_answered_from_the_store_and_replayed(
    proxied: tuple[Api, PgProxy],
) -> None:
    api, proxy = proxied
    headers = api.auth("eva", **{"Idempotency-Key": "lost-ack-1"})
    before = set(registrations(api))
    proxy.lose_next_commit_ack()

    first = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)

    assert proxy.dropped.is_set(), first.text
    # The recorder saw its connection drop during COMMIT, read the log back, found its own
    # events (the same bytes) and answered with them: no 409, no second insert.
    assert first.status_code == 201, first.text
    created = set(registrations(api)) - before
    assert created == {first.json()["id"]}
    retry = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert set(registrations(api)) - before == created


def test_when_the_store_stays_away_the_write_is_a_503_and_its_retry_the_stored_response(
    proxied: tuple[Api, PgProxy],
) -> None:
    api, proxy = proxied
    headers = api.auth("eva", **{"Idempotency-Key": "lost-ack-2"})
    before = set(registrations(api))
    proxy.lose_next_commit_ack(then_down_for=7.0)

    first = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)

    assert proxy.dropped.is_set(), first.text
    # Whether the commit happened cannot be known yet: 503 with Retry-After, never a guess.
    assert first.status_code == 503, first.text
    assert first.headers["retry-after"]
    while True:  # the client retries until the store is back
        retry = api.client.post(CUSTOMERS, json=FEMKE, headers=headers)
        if retry.status_code != 503:
            break
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    created = set(registrations(api)) - before
    assert created == {retry.json()["id"]}
