"""The audit API: auditors read any aggregate as of a past time, diff versions, page through
the global log with filters and verify the hash chain; customers are refused every route."""

from __future__ import annotations

import base64
import sqlite3
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from regenzet.adapters.audit_signing import verify_signature

from .conftest import Api, customer_id, order_id

CLOSED = order_id("model3-hv")


def _audit_routes(aggregate: str) -> list[str]:
    return [
        "/api/v1/audit/events",
        f"/api/v1/audit/aggregates/{aggregate}/events",
        f"/api/v1/audit/aggregates/{aggregate}/state?version=1",
        f"/api/v1/audit/aggregates/{aggregate}/diff?from=1&to=2",
        "/api/v1/audit/verification",
        "/api/v1/audit/checkpoints",
    ]


def test_a_customer_gets_403_on_every_audit_route_even_for_their_own_records(
    sqlite_api: Api,
) -> None:
    own = customer_id("sanne")
    for path in _audit_routes(str(own)):
        response = sqlite_api.client.get(path, headers=sqlite_api.auth("sanne"))
        assert response.status_code == 403, path
        assert response.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("name", ["eva", "noor"])
def test_advisors_and_technicians_are_refused_too(sqlite_api: Api, name: str) -> None:
    statuses = {
        sqlite_api.client.get(path, headers=sqlite_api.auth(name)).status_code
        for path in _audit_routes(str(CLOSED))
    }
    assert statuses == {403}


def _history(api: Api, aggregate: Any) -> list[dict[str, Any]]:
    response = api.client.get(
        f"/api/v1/audit/aggregates/{aggregate}/events", headers=api.auth("ines")
    )
    assert response.status_code == 200
    return response.json()["events"]


def test_the_auditor_reads_an_aggregate_as_of_a_past_time(api: Api) -> None:
    events = _history(api, CLOSED)
    assert len(events) > 8
    # Halfway through the order's life: between two recorded events.
    k = len(events) // 2
    before = datetime.fromisoformat(events[k - 1]["timestamp"])
    after = datetime.fromisoformat(events[k]["timestamp"])
    assert before < after
    instant = before + (after - before) / 2
    response = api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/state?at={quote(instant.isoformat())}",
        headers=api.auth("ines"),
    )
    assert response.status_code == 200, response.text
    as_of = response.json()
    assert as_of["version"] == events[k - 1]["version"]
    by_version = api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/state?version={as_of['version']}",
        headers=api.auth("ines"),
    ).json()
    assert by_version == as_of
    current = api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/state", headers=api.auth("pieter")
    ).json()
    assert current["state"]["status"] == "closed"
    assert as_of["state"]["status"] != "closed"


def test_a_time_before_the_aggregate_existed_is_a_422(sqlite_api: Api) -> None:
    first = datetime.fromisoformat(_history(sqlite_api, CLOSED)[0]["timestamp"])
    earlier = quote((first - timedelta(seconds=1)).isoformat())
    response = sqlite_api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/state?at={earlier}", headers=sqlite_api.auth("ines")
    )
    assert response.status_code == 422
    assert response.json()["field"] == "at"


def test_a_version_past_the_latest_is_a_422_and_an_unknown_id_a_404(sqlite_api: Api) -> None:
    auditor = sqlite_api.auth("ines")
    past = sqlite_api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/state?version=9999", headers=auditor
    )
    assert past.status_code == 422
    assert past.json()["field"] == "version"
    missing = sqlite_api.client.get(
        "/api/v1/audit/aggregates/00000000-0000-4000-8000-000000000000/state", headers=auditor
    )
    assert missing.status_code == 404


def test_a_diff_names_what_changed_and_the_events_between(sqlite_api: Api) -> None:
    events = _history(sqlite_api, CLOSED)
    last = events[-1]["version"]
    response = sqlite_api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/diff?from={last - 1}&to={last}",
        headers=sqlite_api.auth("ines"),
    )
    assert response.status_code == 200, response.text
    diff = response.json()
    assert [e["version"] for e in diff["events"]] == [last]
    status = [c for c in diff["changes"] if c["path"] == "/status"]
    assert status == [
        {"op": "replace", "path": "/status", "value": "closed", "old": "ready_for_pickup"}
    ]
    backwards = sqlite_api.client.get(
        f"/api/v1/audit/aggregates/{CLOSED}/diff?from={last}&to=1",
        headers=sqlite_api.auth("ines"),
    )
    assert backwards.status_code == 422


def test_the_global_log_pages_in_order_with_filters(sqlite_api: Api) -> None:
    auditor = sqlite_api.auth("ines")
    seen: list[int] = []
    after = 0
    while True:
        page = sqlite_api.client.get(
            f"/api/v1/audit/events?after={after}&limit=40", headers=auditor
        ).json()
        seen += [item["notification_id"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    head = sqlite_api.workshop.recorder.max_notification_id()
    assert seen == list(range(1, head + 1))

    opened = sqlite_api.client.get(
        "/api/v1/audit/events?aggregate_type=RepairOrder&event_type=Opened&limit=200",
        headers=auditor,
    ).json()["items"]
    assert opened
    assert {(i["aggregate_type"], i["event_type"]) for i in opened} == {("RepairOrder", "Opened")}
    actor = opened[0]["actor"]["subject_id"]
    by_actor = sqlite_api.client.get(
        f"/api/v1/audit/events?actor={quote(actor)}&limit=200", headers=auditor
    ).json()["items"]
    assert by_actor
    assert {i["actor"]["subject_id"] for i in by_actor} == {actor}
    cut = datetime.fromisoformat(opened[len(opened) // 2]["timestamp"])
    since = sqlite_api.client.get(
        f"/api/v1/audit/events?since={quote(cut.isoformat())}&limit=200", headers=auditor
    ).json()["items"]
    assert since
    assert min(datetime.fromisoformat(i["timestamp"]) for i in since) >= cut


def test_verification_over_http_names_the_first_edited_event(sqlite_api: Api) -> None:
    auditor = sqlite_api.auth("ines")
    intact = sqlite_api.client.get("/api/v1/audit/verification", headers=auditor).json()
    assert intact["intact"] is True
    assert intact["events_verified"] == sqlite_api.workshop.recorder.max_notification_id()
    path = sqlite_api.settings.data_dir / "regenzet.db"
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 42").fetchone()
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 42", (state.replace(b"2", b"3", 1),)
        )
    broken = sqlite_api.client.get("/api/v1/audit/verification", headers=auditor).json()
    assert broken["intact"] is False
    assert broken["first_broken_id"] == 42
    assert "42" in broken["summary"]


def test_checkpoints_come_with_the_key_that_verifies_them(sqlite_api: Api) -> None:
    body = sqlite_api.client.get(
        "/api/v1/audit/checkpoints", headers=sqlite_api.auth("pieter")
    ).json()
    assert body["algorithm"] == "Ed25519"
    assert body["checkpoints"]
    for checkpoint in body["checkpoints"]:
        signature = base64.b64decode(checkpoint["signature_b64"])
        message = checkpoint["message"].encode()
        assert verify_signature(body["public_key_pem"], "Ed25519", message, signature)
        assert not verify_signature(
            body["public_key_pem"],
            "Ed25519",
            message.replace(b'"events":', b'"events":1'),
            signature,
        )
