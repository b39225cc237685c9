"""Adapters of the ``Mailer`` port.

What each does with a request delivered twice (the port asks adapters to send once where they
can; tests/integration/test_mailer_contract.py pins it):

* :class:`EmlFileMailer` writes ``<request_id>.eml``: the second delivery replaces the first
  file with the same email, so one email exists (development, demos, archives);
* :class:`InMemoryMailer` ignores a request id it has seen (tests);
* :class:`SmtpMailer` sends twice: SMTP has no idempotency key, and a server that accepted the
  message may still fail to acknowledge it, so no client can promise exactly once;
* :class:`SnsNotificationMailer` publishes twice (SNS is at least once anyway); the Lambda that
  renders and sends (``regenzet.entrypoints.lambdas.email``) remembers request ids in DynamoDB
  and sends one email. This is the production path.

None of them waits for ``not_before``: holding a request through quiet hours is the caller's
job (SMTP, SNS and SES offer no delayed delivery worth the name).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import tempfile
import threading
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

from regenzet.adapters.email_rendering import render, to_mime
from regenzet.application.notifications import EmailRequest

# File names are limited to 255 bytes on common file systems; leave room for ".eml".
_MAX_FILE_STEM = 250


class EmlFileMailer:
    """Renders each request to ``<directory>/<request_id>.eml`` (RFC 5322, CRLF line ends), which
    any mail client opens. The file appears whole or not at all: it is written beside its final
    name and moved into place with ``os.replace``, which is atomic within a file system."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, request_id: str) -> Path:
        """``<request_id>.eml``; characters that cannot be in a file name (``/``, NUL, ...) are
        percent-encoded, so an id can never name a file outside the directory."""
        stem = quote(request_id, safe="")
        if not stem or len(stem.encode()) > _MAX_FILE_STEM:
            raise ValueError("the request id must be 1 to 250 file-name-safe characters")
        return self.directory / f"{stem}.eml"

    def send(self, request: EmailRequest) -> None:
        target = self.path_for(request.request_id)
        data = to_mime(request, render(request), self.sender).as_bytes(policy=policy.SMTP)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class SmtpMailer:
    """Renders and sends over SMTP, one connection per email (requests are rare and a pooled
    connection would go stale between them).

    Not idempotent: the same request sent twice is two emails. SMTP has no key to deduplicate
    on, and when a connection drops after the server accepted the message the client cannot
    tell whether it was sent. Use it where a rare duplicate is acceptable (a local relay, a
    small garage); production uses :class:`SnsNotificationMailer` and the Lambda.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10,
    ) -> None:
        if username is not None and password is None:
            raise ValueError("an SMTP username needs a password")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, request: EmailRequest) -> None:
        message = to_mime(request, render(request), self.sender)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username is not None and self.password is not None:
                smtp.login(self.username, self.password)
            # The envelope names exactly the request's recipient, whatever the headers say.
            smtp.send_message(message, to_addrs=[request.to])


class SnsNotificationMailer:
    """Publishes the request itself (``EmailRequest.to_json``) to the notifications topic; the
    email Lambda subscribed to it renders and sends through SES, once per request id.

    The message attributes let subscriptions filter (e.g. an archive of quotes only) without
    parsing the body. Publishing the same request twice publishes twice: SNS delivers at least
    once in any case, so the Lambda's DynamoDB record of request ids is what prevents a second
    email, not this adapter.
    """

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self.sns = sns_client
        self.topic_arn = topic_arn

    def send(self, request: EmailRequest) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(request.to_json()),
            MessageAttributes={
                "template": {"DataType": "String", "StringValue": request.template},
                "request_id": {"DataType": "String", "StringValue": request.request_id},
            },
        )


class InMemoryMailer:
    """Keeps requests in :attr:`sent` (tests, demo); a request id seen before is ignored.

    Each request is rendered before it is kept, so a context that does not fit its template
    fails the test that produced it rather than the Lambda in production.
    """

    def __init__(self) -> None:
        self.sent: list[EmailRequest] = []
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def send(self, request: EmailRequest) -> None:
        render(request)
        with self._lock:
            if request.request_id in self._ids:
                return
            self._ids.add(request.request_id)
            self.sent.append(request)


__all__ = ["EmlFileMailer", "InMemoryMailer", "SmtpMailer", "SnsNotificationMailer"]
