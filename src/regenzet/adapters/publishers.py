"""Integration-event publishers (the ``Publisher`` port): in memory, a JSON-lines file (the
local default), and SNS (production: a FIFO topic, one message group per aggregate)."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from regenzet.application.integration_events import IntegrationMessage
from regenzet.application.relay import PublishError

SNS_BATCH = 10  # PublishBatch's limit
RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "KMSThrottling",
}


class InMemoryPublisher:
    def __init__(self) -> None:
        self.messages: list[IntegrationMessage] = []
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[IntegrationMessage]) -> None:
        with self._lock:
            self.messages.extend(messages)


class JsonLinesPublisher:
    """Appends one line per message to a file (``$REGENZET_DATA_DIR/events.jsonl``): the
    message attributes and the message, as SNS would deliver them. Each batch is written and
    fsynced before ``publish`` returns, so the relay records its position only after the
    lines are on disk.

    A relay killed in the middle of a write (SIGKILL can cut a write short) leaves a torn last
    line. Its batch was never acknowledged, so the relay publishes it again; before appending,
    the publisher cuts the file back to its last complete line, so every line of the file is
    whole JSON and the at-least-once stream stays readable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[IntegrationMessage]) -> None:
        data = "".join(
            json.dumps(
                {"message_attributes": m.attributes(), "message": m.body},
                separators=(",", ":"),
                sort_keys=True,
            )
            + "\n"
            for m in messages
        ).encode()
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    _cut_torn_tail(fd)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise PublishError(f"cannot append to {self.path}: {exc.strerror}") from exc


def _cut_torn_tail(fd: int, chunk: int = 64 * 1024) -> None:
    """Truncates the file after its last newline when it does not end with one."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - chunk)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            os.ftruncate(fd, start + newline + 1)
            return
        end = start
    os.ftruncate(fd, 0)


class SnsPublisher:
    """``PublishBatch`` to an SNS topic, ten messages per call, in order.

    On a FIFO topic (ARN ending ``.fifo``) every message has ``MessageGroupId`` = aggregate id
    (per-aggregate order) and ``MessageDeduplicationId`` = event id (a re-publish within SNS's
    five-minute window is dropped). Throttling and server errors, whole-call or per-entry, are
    retried with exponential backoff and jitter; anything else, or running out of attempts,
    raises :class:`PublishError` and the relay keeps its position.
    """

    def __init__(
        self,
        sns: Any,
        topic_arn: str,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.1,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    def publish(self, messages: Sequence[IntegrationMessage]) -> None:
        for start in range(0, len(messages), SNS_BATCH):
            self._publish_batch(list(messages[start : start + SNS_BATCH]))

    def _entry(self, index: int, message: IntegrationMessage) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": str(index),
            "Message": message.json(),
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value}
                for name, value in message.attributes().items()
            },
        }
        if self.fifo:
            entry["MessageGroupId"] = message.aggregate_id
            entry["MessageDeduplicationId"] = message.event_id
        return entry

    def _publish_batch(self, batch: list[IntegrationMessage]) -> None:
        pending = {str(i): m for i, m in enumerate(batch)}
        for attempt in range(1, self.max_attempts + 1):
            entries = [self._entry(int(i), m) for i, m in pending.items()]
            try:
                response = self.sns.publish_batch(
                    TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code not in RETRYABLE_CODES and status < 500:
                    raise PublishError(f"SNS refused the batch: {code}: {exc}") from exc
                self._back_off(attempt, f"{code or status}")
                continue
            except BotoCoreError as exc:  # connection errors, timeouts
                self._back_off(attempt, type(exc).__name__)
                continue
            failed = response.get("Failed", [])
            permanent = [f for f in failed if f.get("SenderFault")]
            if permanent:
                first = permanent[0]
                raise PublishError(
                    f"SNS refused event {pending[first['Id']].event_id}: "
                    f"{first.get('Code')}: {first.get('Message')}"
                )
            if not failed:
                return
            # Resend from the first failed entry on, in order, not only the failed ones: later
            # entries of the same message group must not overtake it on a FIFO topic. The
            # deduplication ids drop the copies SNS already accepted.
            first = min(int(f["Id"]) for f in failed)
            pending = {i: m for i, m in pending.items() if int(i) >= first}
            self._back_off(attempt, failed[0].get("Code", "failed entries"))
        raise PublishError(
            f"SNS did not accept {len(pending)} messages after {self.max_attempts} attempts"
        )

    def _back_off(self, attempt: int, reason: str) -> None:
        if attempt >= self.max_attempts:
            raise PublishError(f"SNS publish failed after {attempt} attempts: {reason}")
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        self.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto


__all__ = ["InMemoryPublisher", "JsonLinesPublisher", "SnsPublisher"]
