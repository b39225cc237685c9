"""The email Lambda on moto: SNS events in, SES emails out, once per request id (Powertools
idempotency on DynamoDB), failures raised after every record was tried."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from regenzet.adapters.mailers import SnsNotificationMailer
from regenzet.application.notifications import EmailRequest
from regenzet.entrypoints.lambdas import email as email_lambda
from regenzet.entrypoints.lambdas.email import (
    IDEMPOTENCY_KEY_PREFIX,
    IDEMPOTENCY_WINDOW,
    EmailRecordsFailed,
    handler,
)

REGION = "eu-west-1"
SENDER = "ReGenZet Garage <noreply@regenzet.example>"
TABLE = "regenzet-email-idempotency"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:regenzet-notifications"


class FakeLambdaContext:
    function_name = "regenzet-email"
    aws_request_id = "00000000-0000-0000-0000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = FakeLambdaContext()


def email_request(request_id: str = "vehicle_ready:RO-1", **context: Any) -> EmailRequest:
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


def sns_event(*messages: str) -> dict[str, Any]:
    """What SNS hands a subscribed Lambda (one record in practice; the handler takes many)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC_ARN}:0b6e4f00-0000-0000-0000-000000000000",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"sns-{index}",
                    "TopicArn": TOPIC_ARN,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": "2026-11-25T08:30:00.000Z",
                    "MessageAttributes": {},
                },
            }
            for index, message in enumerate(messages)
        ]
    }


def message(request: EmailRequest) -> str:
    return json.dumps(request.to_json())


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "REGENZET_MAIL_FROM": SENDER,
        "REGENZET_IDEMPOTENCY_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    # Clients built for an earlier test belong to that test's (now discarded) moto state.
    email_lambda._runtime.cache_clear()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("ses", region_name=REGION).verify_email_identity(
            EmailAddress="noreply@regenzet.example"
        )
        yield
    email_lambda._runtime.cache_clear()


@pytest.mark.usefixtures("aws")
class TestEmailLambda:
    def test_a_request_is_rendered_and_sent_through_ses(self) -> None:
        assert handler(sns_event(message(email_request())), CONTEXT) == {
            "sent": 1,
            "duplicates": 0,
        }
        [sent] = sent_emails()
        assert sent.source == SENDER
        assert sent.destinations["ToAddresses"] == ["ana@example.com"]
        assert sent.subject == "Your Kia EV6 (AB-123-CD) is ready for collection"
        assert "212.40 EUR" in sent.body
        assert sent.body.lstrip().startswith("<!DOCTYPE html>")  # moto keeps the HTML part
        ses = boto3.client("ses", region_name=REGION)
        assert ses.get_send_quota()["SentLast24Hours"] == 1

    def test_a_redelivered_request_is_not_sent_again(self) -> None:
        event = sns_event(message(email_request()))
        assert handler(event, CONTEXT) == {"sent": 1, "duplicates": 0}
        assert handler(event, CONTEXT) == {"sent": 0, "duplicates": 1}
        assert len(sent_emails()) == 1

    def test_the_same_request_twice_in_one_event_is_sent_once(self) -> None:
        twice = sns_event(message(email_request()), message(email_request()))
        assert handler(twice, CONTEXT) == {"sent": 1, "duplicates": 1}
        assert len(sent_emails()) == 1

    def test_the_key_is_the_request_id_not_the_content(self) -> None:
        handler(sns_event(message(email_request())), CONTEXT)
        reworded = email_request(balance_due="0.00")
        assert handler(sns_event(message(reworded)), CONTEXT) == {"sent": 0, "duplicates": 1}
        assert len(sent_emails()) == 1

    def test_a_different_request_id_is_a_second_email(self) -> None:
        handler(sns_event(message(email_request("req-1"))), CONTEXT)
        assert handler(sns_event(message(email_request("req-2"))), CONTEXT) == {
            "sent": 1,
            "duplicates": 0,
        }
        assert len(sent_emails()) == 2

    def test_sent_ids_are_remembered_for_a_week_under_a_stable_key(self) -> None:
        handler(sns_event(message(email_request())), CONTEXT)
        items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"]
        [item] = items
        assert item["id"]["S"].startswith(f"{IDEMPOTENCY_KEY_PREFIX}#")
        assert item["status"]["S"] == "COMPLETED"
        expires_in = int(item["expiration"]["N"]) - time.time()
        assert IDEMPOTENCY_WINDOW.total_seconds() - 60 < expires_in
        assert expires_in <= IDEMPOTENCY_WINDOW.total_seconds()

    def test_a_hostile_customer_name_is_escaped_in_the_html_ses_received(self) -> None:
        hostile = email_request(
            customer_name="<script>alert(1)</script>",
            plate='"><img src=x onerror=alert(1)>\r\nBcc: x@evil.example',
        )
        handler(sns_event(message(hostile)), CONTEXT)
        [sent] = sent_emails()
        assert "<script" not in sent.body
        assert "<img" not in sent.body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sent.body
        assert "\n" not in sent.subject
        assert "\r" not in sent.subject
        assert sent.destinations["ToAddresses"] == ["ana@example.com"]
        assert "BccAddresses" not in sent.destinations

    @pytest.mark.parametrize(
        "malformed",
        [
            "not json",
            json.dumps(["a", "list"]),
            json.dumps({"format": "something-else/1"}),
            json.dumps({**email_request().to_json(), "template": "password_reset"}),
            json.dumps({**email_request().to_json(), "context": {"customer_name": "Ana"}}),
        ],
        ids=["not-json", "not-an-object", "wrong-format", "unknown-template", "missing-keys"],
    )
    def test_a_malformed_record_is_logged_and_raised_after_the_others_are_sent(
        self, malformed: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        event = sns_event(malformed, message(email_request()))
        with (
            caplog.at_level(logging.ERROR, logger=email_lambda.__name__),
            pytest.raises(EmailRecordsFailed) as failure,
        ):
            handler(event, CONTEXT)
        assert failure.value.failed == ["sns-0"]
        assert (failure.value.sent, failure.value.duplicates) == (1, 0)
        assert "sns-0" in caplog.text
        assert "ana@example.com" not in caplog.text  # no customer data in the logs
        assert len(sent_emails()) == 1
        # Lambda retries the event: the good record is not sent again, the bad one fails again.
        with pytest.raises(EmailRecordsFailed) as retry:
            handler(event, CONTEXT)
        assert (retry.value.failed, retry.value.sent, retry.value.duplicates) == (["sns-0"], 0, 1)
        assert len(sent_emails()) == 1

    def test_a_failed_send_is_raised_and_sent_on_retry(self) -> None:
        ses = boto3.client("ses", region_name=REGION)
        ses.delete_identity(Identity="noreply@regenzet.example")
        event = sns_event(message(email_request()))
        with pytest.raises(EmailRecordsFailed, match="sns-0"):
            handler(event, CONTEXT)
        assert sent_emails() == []
        # Powertools deleted the in-progress record, so the retry is not taken for a duplicate.
        ses.verify_email_identity(EmailAddress="noreply@regenzet.example")
        assert handler(event, CONTEXT) == {"sent": 1, "duplicates": 0}
        assert len(sent_emails()) == 1

    def test_what_the_sns_mailer_publishes_is_what_the_lambda_sends(self) -> None:
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="regenzet-notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        SnsNotificationMailer(sns, topic_arn).send(email_request())
        [published] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
        assert handler(sns_event(published["Body"]), CONTEXT) == {"sent": 1, "duplicates": 0}
        assert len(sent_emails()) == 1

    def test_an_event_without_records_sends_nothing(self) -> None:
        assert handler({"Records": []}, CONTEXT) == {"sent": 0, "duplicates": 0}
