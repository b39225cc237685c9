"""Customer email: what to send is decided here; how it is rendered and delivered is the
mailer's business (ports ``Mailer``; adapters: ``.eml`` files, SMTP, SNS → Lambda → SES).

An :class:`EmailRequest` is the contract between the notification policy and every mailer,
including the Lambda that renders and sends in production: JSON-native, versioned, and with a
stable ``request_id`` so a redelivered request is never sent twice.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

import attrs

EMAIL_REQUEST_FORMAT = "regenzet-email-request/1"

_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# One plain address (what the policy takes from a validated customer record): no display
# name, no list, no whitespace or control characters.
_ONE_ADDRESS = re.compile(r"^[^@\s,;<>\"]{1,64}@[^@\s,;<>\"]{1,255}$")

# The templates the policy may ask for (HTML and text files of the same name exist for each).
TEMPLATES = ("quote_ready", "inspection_shared", "vehicle_ready")


@attrs.frozen
class EmailRequest:
    """One email to one customer.

    ``context`` holds JSON-native values only (str, int, float, bool, None, lists, dicts): the
    template's variables. ``not_before`` is when quiet hours end (None: send now).
    """

    request_id: str
    template: str
    to: str
    customer_id: str
    context: dict[str, Any]
    locale: str = "en"
    not_before: datetime | None = None

    def __attrs_post_init__(self) -> None:
        if not _REQUEST_ID.match(self.request_id):
            raise ValueError("request_id must be 1-128 printable characters without spaces")
        if self.template not in TEMPLATES:
            raise ValueError(f"unknown email template {self.template!r}")
        if not _ONE_ADDRESS.match(self.to):
            raise ValueError("the recipient must be one email address")

    def to_json(self) -> dict[str, Any]:
        return {
            "format": EMAIL_REQUEST_FORMAT,
            "request_id": self.request_id,
            "template": self.template,
            "to": self.to,
            "customer_id": self.customer_id,
            "locale": self.locale,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmailRequest:
        if data.get("format") != EMAIL_REQUEST_FORMAT:
            raise ValueError(f"not an email request: format {data.get('format')!r}")
        not_before = data.get("not_before")
        if not isinstance(data.get("request_id"), str):
            raise ValueError("request_id must be a string")
        return cls(
            request_id=data["request_id"],
            template=str(data["template"]),
            to=str(data["to"]),
            customer_id=str(data["customer_id"]),
            locale=str(data.get("locale") or "en"),
            not_before=datetime.fromisoformat(not_before) if not_before else None,
            context=dict(data["context"]),
        )


class Mailer(Protocol):
    """Delivers an email request now (renders it, or hands it to what renders it); the
    caller (``MailDispatcher``) holds requests until their ``not_before``.

    Delivering the same ``request_id`` twice must not send two emails where the adapter can
    prevent it (files are overwritten; the Lambda remembers ids in DynamoDB).
    """

    def send(self, request: EmailRequest) -> None: ...


__all__ = ["EMAIL_REQUEST_FORMAT", "TEMPLATES", "EmailRequest", "Mailer"]
