"""The email Lambda: subscribed to the notifications SNS topic, it renders each
:class:`EmailRequest` and sends it through Amazon SES, once per ``request_id``.

Handler: ``regenzet.entrypoints.lambdas.email.handler``. Environment:

* ``REGENZET_MAIL_FROM``: the SES-verified sender (``"ReGenZet Garage <noreply@...>"``);
* ``REGENZET_IDEMPOTENCY_TABLE``: a DynamoDB table with partition key ``id`` (string) and TTL
  on ``expiration``, where Powertools records which request ids were sent.

Once per request id. SNS delivers at least once, and a failed invocation is retried by
Lambda, so the same request can arrive many times. Sending is wrapped in Powertools'
``idempotent_function`` keyed on ``request_id`` alone (``key_prefix`` keeps the key independent
of the function's name and of this module's layout, so a redeploy or rename does not forget
what was sent), remembered for :data:`IDEMPOTENCY_WINDOW`. A repeat within the window returns
the first send's result, marked ``duplicate``; a request id reused for different content is
also not sent again, deliberately: the customer already has an email for it. While one
invocation is sending, another with the same id fails (``IdempotencyAlreadyInProgressError``)
and is retried, by which time the first has finished.

Failures are never dropped. Every record of the event is tried; a record that cannot be parsed
or rendered (malformed) or sent (SES error, idempotency store error) is logged with its SNS
message id (not its content: it holds a customer's address and name), and once all records are
done the handler raises :class:`EmailRecordsFailed`. SNS invokes Lambda asynchronously, so
there are no batch item failures to report: the raise makes Lambda retry the event (twice by
default) and then hand it to the function's on-failure destination or dead-letter queue, which
must be configured. Records already sent are not sent again by the retries.

``not_before`` is not waited for here: SNS and SES cannot delay a message, so the publisher
publishes when quiet hours are over.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import attrs
import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from regenzet.adapters.email_rendering import RenderedEmail, render
from regenzet.application.notifications import EmailRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

logger = logging.getLogger(__name__)

MAIL_FROM_ENV = "REGENZET_MAIL_FROM"
IDEMPOTENCY_TABLE_ENV = "REGENZET_IDEMPOTENCY_TABLE"

# Longer than any redelivery or retry (SNS retries for hours, Lambda's async queue keeps events
# for up to 6 hours, an operator may redrive a dead-letter queue days later).
IDEMPOTENCY_WINDOW = timedelta(days=7)
IDEMPOTENCY_KEY_PREFIX = "regenzet-email"

_CHARSET = "UTF-8"


class EmailRecordsFailed(RuntimeError):
    """Some records of an event were not sent; Lambda retries the event, then dead-letters it."""

    def __init__(self, failed: list[str], sent: int, duplicates: int) -> None:
        super().__init__(
            f"{len(failed)} email record(s) failed (SNS message ids: {', '.join(failed)}); "
            f"{sent} sent and {duplicates} duplicate(s) in the same event"
        )
        self.failed = failed
        self.sent = sent
        self.duplicates = duplicates


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when it answers from the store instead of sending."""
    return {**response, "duplicate": True}


@attrs.frozen
class _Runtime:
    """What an execution environment builds once and reuses across warm invocations."""

    config: IdempotencyConfig
    send_once: Callable[..., dict[str, Any]]


@cache
def _runtime(table_name: str, sender: str) -> _Runtime:
    ses = boto3.client("ses")
    config = IdempotencyConfig(
        event_key_jmespath="request_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=int(IDEMPOTENCY_WINDOW.total_seconds()),
        response_hook=_mark_duplicate,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table_name)

    def send(
        email: EmailRequest, rendered: RenderedEmail, *, request: dict[str, Any]
    ) -> dict[str, Any]:
        # ``request`` (email.to_json()) is what Powertools hashes; its request_id is the key.
        response = ses.send_email(
            Source=sender,
            Destination={"ToAddresses": [email.to]},
            Message={
                "Subject": {"Data": rendered.subject, "Charset": _CHARSET},
                "Body": {
                    "Text": {"Data": rendered.text, "Charset": _CHARSET},
                    "Html": {"Data": rendered.html, "Charset": _CHARSET},
                },
            },
        )
        return {
            "request_id": request["request_id"],
            "ses_message_id": response["MessageId"],
            "duplicate": False,
        }

    # Applied as a call, not as a decorator: Powertools' decorator is untyped.
    send_once: Callable[..., dict[str, Any]] = idempotent_function(
        send,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    return _Runtime(config=config, send_once=send_once)


def _parse(record: dict[str, Any]) -> tuple[EmailRequest, RenderedEmail]:
    email = EmailRequest.from_json(json.loads(record["Sns"]["Message"]))
    return email, render(email)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Sends every request in the SNS event; returns ``{"sent": n, "duplicates": m}`` or raises
    :class:`EmailRecordsFailed` after trying them all."""
    runtime = _runtime(os.environ[IDEMPOTENCY_TABLE_ENV], os.environ[MAIL_FROM_ENV])
    # Lets Powertools expire an in-progress record when this invocation times out mid-send;
    # without it the retry would be refused as "already in progress" for the whole window.
    runtime.config.register_lambda_context(context)
    sent = duplicates = 0
    failed: list[str] = []
    for index, record in enumerate(event.get("Records", [])):
        sns = record.get("Sns") if isinstance(record, dict) else None
        message_id = (
            str(sns.get("MessageId", f"#{index}")) if isinstance(sns, dict) else f"#{index}"
        )
        try:
            email, rendered = _parse(record)
        except Exception as exc:
            logger.error("malformed email request in SNS message %s: %r", message_id, exc)
            failed.append(message_id)
            continue
        try:
            outcome = runtime.send_once(email, rendered, request=email.to_json())
        except Exception:
            logger.exception(
                "could not send email request %s (SNS message %s)", email.request_id, message_id
            )
            failed.append(message_id)
            continue
        if outcome["duplicate"]:
            duplicates += 1
            logger.info("email request %s was already sent", email.request_id)
        else:
            sent += 1
    if failed:
        raise EmailRecordsFailed(failed, sent, duplicates)
    return {"sent": sent, "duplicates": duplicates}


__all__ = ["EmailRecordsFailed", "handler"]
