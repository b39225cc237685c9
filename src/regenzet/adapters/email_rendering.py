"""Turns an :class:`EmailRequest` into what a customer reads: a subject, a plain-text body and an
HTML body (Jinja2 templates in ``email_templates/``), and into a MIME message for the mailers
that speak SMTP or write ``.eml`` files.

Every value in a request's context may come from a customer (names, plates typed at the desk),
so rendering is defensive:

* HTML templates are autoescaped (``select_autoescape`` keys on the ``.html`` extension, so the
  ``.txt`` templates of the same environment are not: ``&amp;`` in a text email is a bug, and
  ``text/plain`` cannot run script anyway);
* links go through the ``url`` filter, which accepts only ``http``/``https`` (an escaped
  ``javascript:`` URL is still a working ``javascript:`` URL);
* subjects are built in code, stripped of every control character (CR/LF would let a value add
  headers such as ``Bcc``) and capped in length;
* ``StrictUndefined`` makes a missing context key an error instead of an empty gap in a
  customer's email; the sender decides what to do with the error (the Lambda reports it).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit

import attrs
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from regenzet.application.notifications import EmailRequest

DEFAULT_GARAGE_NAME = "ReGenZet Garage"

# Long enough for every subject below with realistic values; short enough that mail clients
# show it whole and a hostile value cannot fill a screen.
MAX_SUBJECT_LENGTH = 120

# Built in code rather than in templates so that they are plain strings (no escaping) and the
# sanitising in one place covers all of them. ``str.format_map`` raises KeyError for a missing
# key, like StrictUndefined does in the bodies.
SUBJECTS: dict[str, str] = {
    "quote_ready": "Your quote for {plate} is ready",
    "inspection_shared": "Inspection report for {plate}",
    "vehicle_ready": "Your {make_model} ({plate}) is ready for collection",
}

REQUEST_ID_HEADER = "X-ReGenZet-Request-Id"
TEMPLATE_HEADER = "X-ReGenZet-Template"


@attrs.frozen
class RenderedEmail:
    subject: str
    text: str
    html: str


def _decimal(value: Any) -> Decimal:
    """Amounts travel as decimal strings ("389.00"); anything else is a policy bug."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a decimal amount: {value!r}")
    return amount


def _money(value: Any, currency: str) -> str:
    return f"{_decimal(value):,.2f} {currency}"


def _when(value: str) -> str:
    """An ISO 8601 instant as people read it: ``25 November 2026, 09:30 UTC+01:00``."""
    moment = datetime.fromisoformat(value)
    zone = f" {moment.tzname()}" if moment.tzinfo is not None else ""
    return f"{moment.day} {moment:%B %Y, %H:%M}{zone}"


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"links in emails must be http(s) URLs, not {value!r}")
    return value


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("regenzet.adapters", "email_templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "decimal": _decimal,
        "money": _money,
        "when": _when,
        "url": _url,
    }
    environment.filters.update(filters)
    return environment


_ENVIRONMENT = _environment()


def clean_header_value(value: str, limit: int = MAX_SUBJECT_LENGTH) -> str:
    """One line of at most ``limit`` characters: control and format characters (CR, LF, NUL,
    bidi overrides, ...) become spaces, runs of whitespace collapse, and a long value is cut
    with an ellipsis."""
    spaced = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    line = " ".join(spaced.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _body(name: str, context: dict[str, Any]) -> str:
    return _ENVIRONMENT.get_template(name).render(context).strip() + "\n"


def render(request: EmailRequest) -> RenderedEmail:
    """Subject, text and HTML for ``request``; raises (``jinja2.UndefinedError``, ``KeyError``,
    ``ValueError``, ...) when the context does not fit the template."""
    context = {"garage_name": DEFAULT_GARAGE_NAME, **request.context}
    subject = clean_header_value(SUBJECTS[request.template].format_map(context))
    return RenderedEmail(
        subject=subject,
        text=_body(f"{request.template}.txt", context),
        html=_body(f"{request.template}.html", context),
    )


def message_id(request_id: str, sender: str) -> str:
    """A Message-ID that is the same every time the request is rendered (so a resent file or
    message is recognisably the same email) and safe whatever characters the id holds."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "regenzet.invalid"
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def to_mime(request: EmailRequest, rendered: RenderedEmail, sender: str) -> EmailMessage:
    """multipart/alternative (text first, HTML preferred by clients that can show it)."""
    if not request.request_id or not request.request_id.isprintable():
        raise ValueError("the request id must be printable and not empty")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = request.to
    if len(message["To"].addresses) != 1:  # "a@x, b@y" passes EmailRequest's check
        raise ValueError("the recipient must be one email address")
    message["Subject"] = clean_header_value(rendered.subject)
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = message_id(request.request_id, sender)
    message[REQUEST_ID_HEADER] = request.request_id
    message[TEMPLATE_HEADER] = request.template
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


__all__ = [
    "DEFAULT_GARAGE_NAME",
    "MAX_SUBJECT_LENGTH",
    "REQUEST_ID_HEADER",
    "SUBJECTS",
    "TEMPLATE_HEADER",
    "RenderedEmail",
    "clean_header_value",
    "message_id",
    "render",
    "to_mime",
]
