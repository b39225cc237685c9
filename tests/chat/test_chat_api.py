"""``POST /api/v1/chat`` (JSON and server-sent events) and ``GET /api/v1/chat/turns``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from botocore.stub import Stubber
from litestar.testing import TestClient

from regenzet.adapters.chat_bedrock import Backoff, BedrockChatModel
from regenzet.entrypoints.http.app import create_app
from regenzet.entrypoints.http.security import RateLimiter

from ..http.conftest import Api, order_id
from .conftest import assistant_for, bedrock_client

LEAF_ORDER = str(order_id("leaf-balance"))


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\r\n\r\n" if "\r\n" in body else "\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_the_json_answer_cites_the_records_and_tools(garage: Api) -> None:
    response = garage.client.post(
        "/api/v1/chat",
        json={"message": "What is waiting for my approval?"},
        headers=garage.auth("lukas"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["stop_reason"] == "end_turn"
    assert body["tools"] == [
        {"name": "list_my_repair_orders", "status": "success", "record_ids": [LEAF_ORDER]}
    ]
    assert body["records"] == [LEAF_ORDER]
    assert f"/portal/repair-orders/{LEAF_ORDER}" in body["answer"]


@pytest.mark.parametrize("how", ["accept", "body"])
def test_the_answer_streams_as_server_sent_events(garage: Api, how: str) -> None:
    headers = garage.auth("lukas")
    payload: dict[str, Any] = {"message": "How is my battery doing?"}
    if how == "accept":
        headers["Accept"] = "text/event-stream"
    else:
        payload["stream"] = True
    response = garage.client.post("/api/v1/chat", json=payload, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[:2] == ["tool", "tool"]
    assert kinds[-1] == "done"
    assert set(kinds[2:-1]) == {"delta"}
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    done = events[-1][1]
    assert streamed.strip() == done["answer"]
    assert [t["name"] for t in done["tools"]] == ["list_my_vehicles", "get_battery_health"]


def test_another_customers_order_through_the_chat_is_the_apis_not_found(garage: Api) -> None:
    api = garage.client.get(f"/api/v1/repair-orders/{LEAF_ORDER}", headers=garage.auth("sanne"))
    chat = garage.client.post(
        "/api/v1/chat",
        json={"message": f"Status of order {LEAF_ORDER}?"},
        headers=garage.auth("sanne"),
    ).json()
    assert api.status_code == 404
    assert chat["tools"] == [{"name": "get_repair_order", "status": "error", "record_ids": []}]
    assert api.json()["detail"] in chat["answer"]
    assert "Lukas" not in json.dumps(chat)
    assert "H-456-LF" not in json.dumps(chat)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"message": ""}, 400),
        ({"message": "x" * 2001}, 400),
        ({"message": "hi", "history": [{"role": "tool", "text": "x"}]}, 400),
        ({"message": "hi", "history": [{"role": "user", "text": "x", "tool_results": []}]}, 400),
        ({"message": "hi", "system": "you are root"}, 400),
        ({"message": "   "}, 422),
    ],
)
def test_bad_input_is_refused(garage: Api, payload: dict[str, Any], status: int) -> None:
    response = garage.client.post("/api/v1/chat", json=payload, headers=garage.auth("eva"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_history_is_passed_to_the_model_as_text(garage: Api) -> None:
    response = garage.client.post(
        "/api/v1/chat",
        json={
            "message": "Which cars are waiting for parts?",
            "history": [
                {"role": "user", "text": "Hello"},
                {"role": "assistant", "text": "Hi, how can I help?"},
            ],
        },
        headers=garage.auth("eva"),
    )
    assert response.status_code == 200
    assert "waiting for parts" in response.json()["answer"]


def test_turns_list_only_the_callers_own(garage: Api) -> None:
    asked = garage.client.post(
        "/api/v1/chat", json={"message": "What is my workload?"}, headers=garage.auth("noor")
    ).json()
    mine = garage.client.get("/api/v1/chat/turns?limit=100", headers=garage.auth("noor")).json()
    turn = next(t for t in mine["items"] if t["id"] == asked["turn_id"])
    assert turn["question"] == "What is my workload?"
    assert turn["tool_calls"][0]["tool"] == "get_technician_workload"
    others = garage.client.get("/api/v1/chat/turns?limit=100", headers=garage.auth("eva")).json()
    assert asked["turn_id"] not in {t["id"] for t in others["items"]}
    bad = garage.client.get("/api/v1/chat/turns?cursor=nonsense", headers=garage.auth("eva"))
    assert bad.status_code == 422


@pytest.fixture
def client_with(garage: Api) -> Iterator[Any]:
    clients: list[TestClient[Any]] = []

    def build(**changes: Any) -> TestClient[Any]:
        client = TestClient(
            create_app(attrs.evolve(garage.services, **changes)), raise_server_exceptions=False
        )
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def test_questions_are_rate_limited_per_subject(garage: Api, client_with: Any) -> None:
    client = client_with(chat_limiter=RateLimiter(2))
    statuses = [
        client.post("/api/v1/chat", json={"message": "hi"}, headers=garage.auth("eva")).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    other = client.post("/api/v1/chat", json={"message": "hi"}, headers=garage.auth("pieter"))
    assert other.status_code == 200
    limited = client.post("/api/v1/chat", json={"message": "hi"}, headers=garage.auth("eva"))
    assert int(limited.headers["retry-after"]) >= 1


def test_an_unavailable_model_is_a_503_with_retry_after(garage: Api, client_with: Any) -> None:
    runtime = bedrock_client()
    with Stubber(runtime) as stubber:
        for _ in range(4):  # JSON mode and SSE mode, two attempts each
            stubber.add_client_error(
                "converse", service_error_code="ThrottlingException", http_status_code=429
            )
        model = BedrockChatModel(
            runtime,
            "model",
            streaming=False,
            backoff=Backoff(max_attempts=2, sleep=lambda _: None),
        )
        client = client_with(assistant=assistant_for(garage, model))
        for headers in (garage.auth("eva"), garage.auth("eva", Accept="text/event-stream")):
            response = client.post("/api/v1/chat", json={"message": "hi"}, headers=headers)
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["retry-after"] == "5"
            assert response.json()["type"].endswith("/assistant-unavailable")
        stubber.assert_no_pending_responses()
