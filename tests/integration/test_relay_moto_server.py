"""Acceptance: against a moto server (``AWS_ENDPOINT_URL``), after ``regenzet demo``,
``regenzet relay run --once`` publishes one message per mapped event with the attributes, and
a second run publishes nothing new."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto.server import ThreadedMotoServer

from regenzet.application.integration_events import committed_schema

from .test_cli import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def moto_server() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


AWS = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-west-1",
        **{
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        },
    )


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    received = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            received.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received


def test_relay_once_publishes_each_mapped_event_once(moto_server: str, tmp_path: Path) -> None:
    sns, sqs = _client("sns", moto_server), _client("sqs", moto_server)
    topic = sns.create_topic(
        Name="regenzet-domain-events.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"},
    )["TopicArn"]
    queue = sqs.create_queue(QueueName="integrator.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    env = {
        "REGENZET_DATA_DIR": str(tmp_path),
        "REGENZET_SNS_TOPIC_ARN": topic,
        "AWS_ENDPOINT_URL": moto_server,
        **AWS,
    }
    demo = run(["demo"], env)
    assert demo.returncode == 0, demo.stderr
    assert not (tmp_path / "events.jsonl").exists()  # with a topic, the relay is the publisher

    first = run(["relay", "run", "--once"], env)
    assert first.returncode == 0, first.stderr
    published = int(first.stdout.split()[1])
    messages = _drain(sqs, queue)
    assert len(messages) == published > 30
    bodies = [json.loads(m["Body"]) for m in messages]
    assert len({b["event_id"] for b in bodies}) == published  # one message per event
    for message, body in zip(messages, bodies, strict=True):
        jsonschema.validate(body, committed_schema(body["event_type"]))
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes == {
            "event_type": body["event_type"],
            "aggregate_type": body["aggregate_type"],
            "aggregate_id": body["aggregate_id"],
            "event_id": body["event_id"],
            "version": str(body["version"]),
        }
    kinds = Counter(b["event_type"] for b in bodies)
    assert kinds["repair_order.opened.v1"] == 7
    assert kinds["vehicle.registered.v1"] == 6

    second = run(["relay", "run", "--once"], env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("published 0 integration events")
    assert _drain(sqs, queue) == []
