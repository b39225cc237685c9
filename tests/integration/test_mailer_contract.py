"""One contract suite for the ``Mailer`` port, run against every adapter: in memory, ``.eml``
files, SMTP (a recording stand-in for smtplib) and SNS (moto, read back through an SQS queue
subscribed with raw message delivery).

"Delivered" means what reaches the customer, or the component that will render for them:
recipient, request id, subject and both bodies must equal ``render(request)``. Sending the same
request twice gives one delivery where the adapter can prevent a second (memory, files); SMTP
and SNS deliver at least once, every copy carrying the same request id (for SNS the email
Lambda then sends once, see test_email_lambda.py).
"""

from __future__ import annotations

import email
import json
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest
from jinja2 import UndefinedError
from moto import mock_aws

from regenzet.adapters.email_rendering import REQUEST_ID_HEADER, render
from regenzet.adapters.mailers import (
    EmlFileMailer,
    InMemoryMailer,
    SmtpMailer,
    SnsNotificationMailer,
)
from regenzet.application.notifications import EMAIL_REQUEST_FORMAT, EmailRequest, Mailer

SENDER = "ReGenZet Garage <noreply@regenzet.example>"
REGION = "eu-west-1"


@attrs.frozen
class Delivery:
    request_id: str
    to: str
    subject: str
    text: str
    html: str

    @classmethod
    def expected(cls, request: EmailRequest) -> Delivery:
        rendered = render(request)
        return cls(request.request_id, request.to, rendered.subject, rendered.text, rendered.html)


@attrs.frozen
class Harness:
    mailer: Mailer
    delivered: Callable[[], list[Delivery]]
    deduplicates: bool


def email_request(request_id: str = "quote_ready:RO-1:v1", **context: Any) -> EmailRequest:
    return EmailRequest(
        request_id=request_id,
        template="vehicle_ready",
        to="ana@example.com",
        customer_id="cust-1",
        context={
            "customer_name": "Ana Lopes",
            "plate": "AB-123-CD",
            "make_model": "Kia EV6",
            "order_id": "RO-1",
            "balance_due": "212.40",
            "currency": "EUR",
            "portal_url": "https://portal.regenzet.example/orders/RO-1",
            **context,
        },
    )


def _from_mime(message: EmailMessage) -> Delivery:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return Delivery(
        request_id=str(message[REQUEST_ID_HEADER]),
        to=str(message["To"]),
        subject=str(message["Subject"]),
        # Parts travel with CRLF line ends (quoted-printable keeps them when decoded).
        text=text.get_content().replace("\r\n", "\n"),
        html=html.get_content().replace("\r\n", "\n"),
    )


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


class RecordingSmtp:
    """Stands in for ``smtplib.SMTP``: records what a real server would have received."""

    def __init__(self, outbox: list[EmailMessage], log: list[str]) -> None:
        self.outbox = outbox
        self.log = log

    def __call__(self, host: str, port: int, timeout: float) -> RecordingSmtp:
        self.log.append(f"connect {host}:{port} timeout={timeout}")
        return self

    def __enter__(self) -> RecordingSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append("quit")

    def starttls(self, context: object) -> None:
        self.log.append("starttls")

    def login(self, username: str, password: str) -> None:
        self.log.append(f"login {username}")

    def send_message(self, message: EmailMessage, to_addrs: list[str]) -> None:
        self.log.append(f"send to {to_addrs}")
        self.outbox.append(_parse(message.as_bytes(policy=policy.SMTP)))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@attrs.frozen
class SnsTopic:
    sns: Any
    sqs: Any
    topic_arn: str
    queue_url: str

    @classmethod
    def create(cls) -> SnsTopic:
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="regenzet-notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="regenzet-email-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return cls(sns, sqs, topic_arn, queue_url)

    def messages(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                return received
            received.extend(batch)
            for message in batch:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def requests(self) -> list[EmailRequest]:
        return [EmailRequest.from_json(json.loads(m["Body"])) for m in self.messages()]


@pytest.fixture(params=["memory", "eml", "smtp", "sns"])
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Harness:
    if request.param == "memory":
        memory = InMemoryMailer()
        return Harness(
            memory, lambda: [Delivery.expected(r) for r in memory.sent], deduplicates=True
        )
    if request.param == "eml":
        directory = tmp_path / "outbox"
        return Harness(
            EmlFileMailer(directory, SENDER),
            lambda: [_from_mime(_parse(p.read_bytes())) for p in sorted(directory.iterdir())],
            deduplicates=True,
        )
    if request.param == "smtp":
        outbox: list[EmailMessage] = []
        monkeypatch.setattr("smtplib.SMTP", RecordingSmtp(outbox, []))
        return Harness(
            SmtpMailer("smtp.example.com", 587, SENDER),
            lambda: [_from_mime(m) for m in outbox],
            deduplicates=False,
        )
    request.getfixturevalue("aws")
    topic = SnsTopic.create()
    return Harness(
        SnsNotificationMailer(topic.sns, topic.topic_arn),
        lambda: [Delivery.expected(r) for r in topic.requests()],
        deduplicates=False,
    )


class TestMailerContract:
    def test_a_sent_request_is_delivered_as_rendered(self, harness: Harness) -> None:
        sent = email_request(customer_name="Zoë Ångström")  # non-ASCII survives every path
        harness.mailer.send(sent)
        assert harness.delivered() == [Delivery.expected(sent)]

    def test_the_same_request_twice_is_one_email_where_the_adapter_can_tell(
        self, harness: Harness
    ) -> None:
        sent = email_request()
        harness.mailer.send(sent)
        harness.mailer.send(sent)
        delivered = harness.delivered()
        if harness.deduplicates:
            assert delivered == [Delivery.expected(sent)]
        else:  # at least once, every copy the same email with the same request id
            assert delivered
            assert set(delivered) == {Delivery.expected(sent)}

    def test_different_requests_are_delivered_separately(self, harness: Harness) -> None:
        first = email_request("req-1")
        second = email_request("req-2", balance_due="0.00")
        harness.mailer.send(first)
        harness.mailer.send(second)
        assert sorted(harness.delivered(), key=lambda d: d.request_id) == [
            Delivery.expected(first),
            Delivery.expected(second),
        ]

    def test_an_invalid_request_is_refused_by_email_request_itself(self, harness: Harness) -> None:
        good = email_request().to_json()
        with pytest.raises(ValueError, match="template"):
            EmailRequest.from_json({**good, "template": "password_reset"})
        with pytest.raises(ValueError, match="recipient"):
            EmailRequest.from_json({**good, "to": "ana@example.com\r\nBcc: x@evil.example"})
        with pytest.raises(ValueError, match="recipient"):
            EmailRequest.from_json({**good, "to": "not an address"})
        with pytest.raises(ValueError, match="format"):
            EmailRequest.from_json({**good, "format": "something-else/1"})
        assert harness.delivered() == []


class TestSnsNotificationMailer:
    def test_the_request_round_trips_with_filterable_attributes(self, aws: None) -> None:
        topic = SnsTopic.create()
        sent = email_request()
        SnsNotificationMailer(topic.sns, topic.topic_arn).send(sent)
        [message] = topic.messages()
        body = json.loads(message["Body"])
        assert body["format"] == EMAIL_REQUEST_FORMAT
        assert EmailRequest.from_json(body) == sent
        attributes = message["MessageAttributes"]
        assert attributes["template"] == {"DataType": "String", "StringValue": "vehicle_ready"}
        assert attributes["request_id"] == {
            "DataType": "String",
            "StringValue": "quote_ready:RO-1:v1",
        }


class TestEmlFileMailer:
    def test_writes_request_id_eml_and_nothing_else(self, tmp_path: Path) -> None:
        mailer = EmlFileMailer(tmp_path / "outbox", SENDER)
        mailer.send(email_request("req-1"))
        mailer.send(email_request("req-1"))
        assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["req-1.eml"]
        message = _parse((tmp_path / "outbox" / "req-1.eml").read_bytes())
        assert message["From"] == SENDER
        assert message.get_content_type() == "multipart/alternative"

    @pytest.mark.parametrize("request_id", ["../escape", "/etc/passwd", "..", "a/b\\c"])
    def test_a_request_id_cannot_name_a_file_outside_the_directory(
        self, tmp_path: Path, request_id: str
    ) -> None:
        outbox = tmp_path / "outbox"
        mailer = EmlFileMailer(outbox, SENDER)
        mailer.send(email_request(request_id))
        [written] = outbox.iterdir()
        assert written.parent == outbox
        assert _parse(written.read_bytes())[REQUEST_ID_HEADER] == request_id
        assert [p for p in tmp_path.iterdir() if p != outbox] == []

    def test_a_request_that_does_not_render_leaves_no_file(self, tmp_path: Path) -> None:
        mailer = EmlFileMailer(tmp_path, SENDER)
        with pytest.raises(ValueError, match="decimal"):
            mailer.send(email_request(balance_due="lots"))
        assert list(tmp_path.iterdir()) == []


class TestSmtpMailer:
    def test_upgrades_to_tls_logs_in_and_sends_to_the_recipient_only(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        outbox: list[EmailMessage] = []
        log: list[str] = []
        monkeypatch.setattr("smtplib.SMTP", RecordingSmtp(outbox, log))
        mailer = SmtpMailer("smtp.example.com", 587, SENDER, "garage", "secret", timeout=5)
        mailer.send(email_request())
        assert log == [
            "connect smtp.example.com:587 timeout=5",
            "starttls",
            "login garage",
            "send to ['ana@example.com']",
            "quit",
        ]
        assert [_from_mime(m) for m in outbox] == [Delivery.expected(email_request())]

    def test_plain_relay_without_tls_or_login(self, monkeypatch: pytest.MonkeyPatch) -> None:
        log: list[str] = []
        monkeypatch.setattr("smtplib.SMTP", RecordingSmtp([], log))
        SmtpMailer("localhost", 25, SENDER, starttls=False).send(email_request())
        assert log == ["connect localhost:25 timeout=10", "send to ['ana@example.com']", "quit"]

    def test_a_username_needs_a_password(self) -> None:
        with pytest.raises(ValueError, match="password"):
            SmtpMailer("smtp.example.com", 587, SENDER, username="garage")


class TestInMemoryMailer:
    def test_keeps_each_request_once(self) -> None:
        mailer = InMemoryMailer()
        first, second = email_request("req-1"), email_request("req-2")
        for request in (first, second, first):
            mailer.send(request)
        assert mailer.sent == [first, second]

    def test_refuses_a_request_that_would_not_render(self) -> None:
        mailer = InMemoryMailer()
        context = dict(email_request().context)
        del context["portal_url"]
        with pytest.raises(UndefinedError, match="portal_url"):
            mailer.send(EmailRequest("req-1", "vehicle_ready", "ana@example.com", "c", context))
        assert mailer.sent == []
