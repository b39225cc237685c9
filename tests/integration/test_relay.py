"""The outbox relay on SNS (moto): a FIFO topic with SQS subscribers using filter policies gets
exactly the expected events with their attributes; a relay killed between publish and
position commit loses nothing and re-publishes with the same dedup ids; throttling is retried;
every message matches its committed JSON Schema; the publisher contract holds for every
adapter."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.persistence import sqlite_env
from regenzet.adapters.publishers import InMemoryPublisher, JsonLinesPublisher, SnsPublisher
from regenzet.adapters.read_models import InMemoryReadModelStore, SqliteReadModelStore
from regenzet.application.integration_events import (
    CATALOGUE,
    IntegrationEventMapper,
    IntegrationMessage,
    committed_schema,
    json_schema,
)
from regenzet.application.relay import Publisher, PublishError, Relay
from regenzet.application.workshop import Workshop
from regenzet.entrypoints.bootstrap import event_log_reader, workshop_for
from regenzet.entrypoints.demo import seed_demo

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def garage(tmp_path: Path) -> Iterator[tuple[Workshop, dict[str, str]]]:
    env = sqlite_env(tmp_path / "regenzet.db")
    clock = ManualClock(datetime(2026, 11, 20, 8, tzinfo=UTC))
    workshop = workshop_for(env, clock)
    seed_demo(workshop, clock)
    yield workshop, env
    workshop.close()


def _relay(
    workshop: Workshop, env: dict[str, str], store: Any, publisher: Publisher, batch: int = 200
) -> Relay:
    def load(aggregate_id: Any, version: int) -> Any:
        return workshop.repository.get(aggregate_id, version=version)

    return Relay(
        store,
        event_log_reader(env, workshop),
        workshop.decode_rows,
        IntegrationEventMapper(load),
        publisher,
        batch=batch,
    )


def _expected(workshop: Workshop, env: dict[str, str]) -> list[IntegrationMessage]:
    """What the relay must publish: every mapped event of the log, in order."""
    sink = InMemoryPublisher()
    relay = _relay(workshop, env, InMemoryReadModelStore(), sink)
    relay.catch_up()
    relay.reader.close()
    return sink.messages


def _fifo(sns: Any, sqs: Any, filters: dict[str, dict[str, Any]]) -> tuple[str, dict[str, str]]:
    topic = sns.create_topic(
        Name="regenzet-domain-events.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"},
    )["TopicArn"]
    queues = {}
    for name, policy in filters.items():
        url = sqs.create_queue(
            QueueName=f"{name}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"},
        )
        queues[name] = url
    return topic, queues


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    received = []
    while True:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return received
        for message in messages:
            received.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def test_subscribers_with_filter_policies_get_exactly_their_events(
    aws: None, garage: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = garage
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic, queues = _fifo(
        sns,
        sqs,
        {
            "insurer": {"event_type": ["repair_order.hv_isolated.v1", "repair_order.invoiced.v1"]},
            "fleet": {"aggregate_type": ["vehicle"]},
            "everything": {"event_type": [{"prefix": ""}]},
        },
    )
    store = SqliteReadModelStore(tmp_path / "read_models.db")
    relay = _relay(workshop, env, store, SnsPublisher(sns, topic), batch=25)
    try:
        relay.catch_up()
        expected = _expected(workshop, env)
        everything = _drain(sqs, queues["everything"])
        assert [json.loads(m["Body"])["event_id"] for m in everything] == [
            m.event_id for m in expected
        ]
        for message, sent in zip(everything, expected, strict=True):
            assert _attributes(message) == {
                "event_type": sent.event_type,
                "aggregate_type": sent.aggregate_type,
                "aggregate_id": sent.aggregate_id,
                "event_id": sent.event_id,
                "version": str(sent.version),
            }
            body = json.loads(message["Body"])
            jsonschema.validate(body, committed_schema(body["event_type"]))
        insurer = Counter(
            json.loads(m["Body"])["event_type"] for m in _drain(sqs, queues["insurer"])
        )
        assert insurer == {"repair_order.hv_isolated.v1": 1, "repair_order.invoiced.v1": 2}
        fleet = {json.loads(m["Body"])["aggregate_type"] for m in _drain(sqs, queues["fleet"])}
        assert fleet == {"vehicle"}
        # A second run publishes nothing new.
        assert relay.catch_up() == 0
        assert _drain(sqs, queues["everything"]) == []
    finally:
        relay.reader.close()
        store.close()


class _RecordingSns:
    """Wraps the real (moto) SNS client and keeps every PublishBatch entry it forwards."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entries: list[dict[str, Any]] = []

    def publish_batch(self, **kwargs: Any) -> Any:
        self.entries.extend(kwargs["PublishBatchRequestEntries"])
        return self.client.publish_batch(**kwargs)


class _CrashingStore(SqliteReadModelStore):
    """The relay process dies after SNS accepted the batch, before its position commits."""

    crash_next = True

    @contextmanager
    def transaction(self, name: str) -> Iterator[Any]:  # type: ignore[override]
        if self.crash_next:
            self.crash_next = False
            raise SystemExit("killed between publish and position commit")
        with super().transaction(name) as tx:
            yield tx


def test_a_relay_killed_after_publishing_republishes_with_the_same_dedup_ids(
    aws: None, garage: tuple[Workshop, dict[str, str]], tmp_path: Path
) -> None:
    workshop, env = garage
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic, queues = _fifo(sns, sqs, {"all": {"event_type": [{"prefix": ""}]}})
    recording = _RecordingSns(sns)
    store = _CrashingStore(tmp_path / "read_models.db")
    first = _relay(workshop, env, store, SnsPublisher(recording, topic), batch=40)
    with pytest.raises(SystemExit):
        first.catch_up()
    crashed_batch = [e["MessageDeduplicationId"] for e in recording.entries]
    assert crashed_batch
    assert first.position() == 0  # nothing recorded: the batch counts as unpublished
    second = _relay(workshop, env, store, SnsPublisher(recording, topic), batch=40)
    try:
        second.catch_up()
        dedup_ids = [e["MessageDeduplicationId"] for e in recording.entries]
        republished = dedup_ids[len(crashed_batch) : 2 * len(crashed_batch)]
        assert republished == crashed_batch  # the same ids again, in the same order
        expected = [m.event_id for m in _expected(workshop, env)]
        assert sorted(set(dedup_ids)) == sorted(expected)  # nothing lost
        groups = {e["MessageGroupId"] for e in recording.entries}
        assert groups == {m.aggregate_id for m in _expected(workshop, env)}
        delivered = [json.loads(m["Body"])["event_id"] for m in _drain(sqs, queues["all"])]
        assert set(delivered) == set(expected)
    finally:
        first.reader.close()
        second.reader.close()
        store.close()


def _message(n: int) -> IntegrationMessage:
    body = {"event_id": f"e-{n}", "event_type": "vehicle.registered.v1", "n": n}
    return IntegrationMessage(f"e-{n}", "vehicle.registered.v1", "vehicle", f"a-{n % 3}", n, body)


def test_throttling_and_server_errors_are_retried_with_backoff() -> None:
    client = boto3.client(
        "sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    topic = "arn:aws:sns:eu-west-1:123456789012:events.fifo"
    sleeps: list[float] = []
    publisher = SnsPublisher(client, topic, sleep=sleeps.append, base_delay=0.1)
    messages = [_message(n) for n in range(3)]
    with Stubber(client) as stub:
        stub.add_client_error("publish_batch", "Throttling", http_status_code=400)
        stub.add_client_error("publish_batch", "InternalError", http_status_code=500)
        stub.add_response(
            "publish_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "m0"}, {"Id": "2", "MessageId": "m2"}],
                "Failed": [{"Id": "1", "Code": "InternalError", "SenderFault": False}],
            },
        )
        # Entry 1 failed after 2 was accepted: 1 and 2 are sent again, in order, so 2 cannot
        # overtake 1 in its message group (SNS drops the second 2 by its dedup id).
        stub.add_response(
            "publish_batch",
            {"Successful": [{"Id": "1", "MessageId": "m1"}, {"Id": "2", "MessageId": "m2"}]},
            expected_params={
                "TopicArn": topic,
                "PublishBatchRequestEntries": [
                    publisher._entry(1, messages[1]),
                    publisher._entry(2, messages[2]),
                ],
            },
        )
        publisher.publish(messages)
        stub.assert_no_pending_responses()
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[2]  # exponential (with jitter of at most half)


def test_a_refused_message_or_exhausted_retries_raise() -> None:
    client = boto3.client(
        "sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    topic = "arn:aws:sns:eu-west-1:123456789012:events.fifo"
    publisher = SnsPublisher(client, topic, sleep=lambda _: None, max_attempts=2)
    with Stubber(client) as stub:
        stub.add_response(
            "publish_batch",
            {
                "Successful": [],
                "Failed": [{"Id": "0", "Code": "InvalidParameter", "SenderFault": True}],
            },
        )
        with pytest.raises(PublishError, match="e-0"):
            publisher.publish([_message(0)])
    with Stubber(client) as stub:
        stub.add_client_error("publish_batch", "Throttling", http_status_code=400)
        stub.add_client_error("publish_batch", "Throttling", http_status_code=400)
        with pytest.raises(PublishError, match="2 attempts"):
            publisher.publish([_message(0)])
    with Stubber(client) as stub:
        stub.add_client_error("publish_batch", "AuthorizationError", http_status_code=403)
        with pytest.raises(PublishError, match="AuthorizationError"):
            publisher.publish([_message(0)])


# ---------------------------------------------------------------------------------------------
# Publisher contract: every adapter delivers each message, in order, with its attributes.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "jsonl", "sns"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Publisher, Any]]:
    if request.param == "memory":
        memory = InMemoryPublisher()
        yield memory, lambda: [(m.attributes(), m.body) for m in memory.messages]
        return
    if request.param == "jsonl":
        path = tmp_path / "events.jsonl"

        def read_lines() -> list[tuple[dict[str, str], dict[str, Any]]]:
            lines = [json.loads(line) for line in path.read_text().splitlines()]
            return [(line["message_attributes"], line["message"]) for line in lines]

        yield JsonLinesPublisher(path), read_lines
        return
    request.getfixturevalue("aws")
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic, queues = _fifo(sns, sqs, {"all": {"event_type": [{"prefix": ""}]}})
    yield (
        SnsPublisher(sns, topic),
        lambda: [(_attributes(m), json.loads(m["Body"])) for m in _drain(sqs, queues["all"])],
    )


def test_publisher_contract_delivers_in_order_with_attributes(
    sink: tuple[Publisher, Any],
) -> None:
    publisher, read_back = sink
    messages = [_message(n) for n in range(23)]  # more than one SNS batch
    publisher.publish(messages[:20])
    publisher.publish(messages[20:])
    assert read_back() == [(m.attributes(), m.body) for m in messages]


def test_publisher_contract_accepts_an_empty_batch(sink: tuple[Publisher, Any]) -> None:
    publisher, read_back = sink
    publisher.publish([])
    assert read_back() == []


# ---------------------------------------------------------------------------------------------
# Schemas and documentation match what the relay publishes.
# ---------------------------------------------------------------------------------------------


def test_committed_schemas_are_the_generated_ones() -> None:
    for event_type, *_ in CATALOGUE:
        assert committed_schema(event_type) == json_schema(event_type), (
            f"{event_type}: run tests/contracts/regenerate_integration_schemas.py"
        )


def test_every_demo_message_validates_and_every_type_is_published(
    garage: tuple[Workshop, dict[str, str]],
) -> None:
    workshop, env = garage
    published = _expected(workshop, env)
    for message in published:
        jsonschema.validate(message.body, committed_schema(message.event_type))
        assert message.body["event_type"] == message.event_type
    assert {m.event_type for m in published} == {t for t, *_ in CATALOGUE}


def test_no_personal_data_leaves_in_integration_events(
    garage: tuple[Workshop, dict[str, str]],
) -> None:
    workshop, env = garage
    text = json.dumps([m.body for m in _expected(workshop, env)])
    for customer in workshop.recorder.select_notifications(1, 10_000):
        if customer.topic.endswith("Customer.Registered"):
            state = json.loads(customer.state)
            for secret in (state["name"], state["email"], state.get("phone")):
                if secret:
                    assert secret not in text
        if customer.topic.endswith("Vehicle.Registered"):
            state = json.loads(customer.state)
            assert state["vin"] not in text
            assert state["plate"] not in text


def test_the_document_lists_every_event_and_attribute() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "integration-events.md").read_text()
    for event_type, *_ in CATALOGUE:
        assert f"`{event_type}`" in doc
    for attribute in ("event_type", "aggregate_type", "aggregate_id", "event_id", "version"):
        assert f"`{attribute}`" in doc


def test_the_documented_fields_are_the_schema_fields() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "integration-events.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith(".v1`"):
            rows[cells[0].strip("`")] = [f.strip(" `") for f in cells[2].split(",")]
    for event_type, _, payload, _ in CATALOGUE:
        schema = committed_schema(event_type)
        assert rows[event_type] == list(schema["$defs"][payload.__name__]["properties"])


def test_a_torn_last_line_from_a_killed_relay_is_cut_before_the_next_batch(
    tmp_path: Path,
) -> None:
    # A relay SIGKILLed mid-write leaves half a line; that batch was never acknowledged, so it
    # is published again, after the publisher has cut the file back to its last whole line.
    path = tmp_path / "events.jsonl"
    publisher = JsonLinesPublisher(path)
    first, torn, again = _message(0), _message(1), _message(2)
    publisher.publish([first])
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"message":{"aggregate_id":"400cf9a6-5f')
    publisher.publish([torn, again])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["message"] for line in lines] == [first.body, torn.body, again.body]


def test_a_file_holding_only_a_torn_line_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"message":{"aggr' * 10_000)  # longer than one read-back chunk
    JsonLinesPublisher(path).publish([_message(3)])
    assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == [
        _message(3).body
    ]
