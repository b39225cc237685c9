"""Email templates: each renders the facts a customer needs in both parts; customer-typed values
are escaped in HTML and cannot add headers; a context that does not fit its template fails."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from jinja2 import UndefinedError

from regenzet.adapters.email_rendering import (
    MAX_SUBJECT_LENGTH,
    REQUEST_ID_HEADER,
    SUBJECTS,
    TEMPLATE_HEADER,
    message_id,
    render,
    to_mime,
)
from regenzet.application.notifications import TEMPLATES, EmailRequest

SENDER = "ReGenZet Garage <noreply@regenzet.example>"

CONTEXTS: dict[str, dict[str, Any]] = {
    "quote_ready": {
        "customer_name": "Ana Lopes",
        "plate": "AB-123-CD",
        "make_model": "Tesla Model 3",
        "order_id": "RO-2026-0042",
        "jobs": [
            {"title": "High-voltage battery health check", "total": "389.00"},
            {"title": "Replace cabin air filter", "total": "1249.50"},
        ],
        "total": "1638.50",
        "currency": "EUR",
        "approve_url": "https://portal.regenzet.example/quotes/RO-2026-0042?sig=abc&exp=1",
        "expires_at": "2026-11-25T09:30:00+01:00",
    },
    "inspection_shared": {
        "customer_name": "Ana Lopes",
        "plate": "AB-123-CD",
        "make_model": "Renault Zoe",
        "inspection_id": "INS-77",
        "summary": {"green": 31, "amber": 4, "red": 1},
        "recommended": ["Replace front brake pads", "Top up coolant of the battery loop"],
        "portal_url": "https://portal.regenzet.example/inspections/INS-77",
    },
    "vehicle_ready": {
        "customer_name": "Ana Lopes",
        "plate": "AB-123-CD",
        "make_model": "Kia EV6",
        "order_id": "RO-2026-0042",
        "balance_due": "212.40",
        "currency": "EUR",
        "portal_url": "https://portal.regenzet.example/orders/RO-2026-0042",
    },
}

# What the customer must find in both the text and the HTML part.
FACTS: dict[str, list[str]] = {
    "quote_ready": [
        "Ana Lopes",
        "AB-123-CD",
        "Tesla Model 3",
        "RO-2026-0042",
        "High-voltage battery health check",
        "389.00 EUR",
        "1,249.50 EUR",
        "1,638.50 EUR",
        "25 November 2026, 09:30 UTC+01:00",
        "ReGenZet Garage",
    ],
    "inspection_shared": [
        "Ana Lopes",
        "AB-123-CD",
        "Renault Zoe",
        "36 items",
        "Replace front brake pads",
        "Top up coolant of the battery loop",
        "https://portal.regenzet.example/inspections/INS-77",
    ],
    "vehicle_ready": [
        "Ana Lopes",
        "AB-123-CD",
        "Kia EV6",
        "RO-2026-0042",
        "212.40 EUR",
        "https://portal.regenzet.example/orders/RO-2026-0042",
    ],
}

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_PLATE = '"><img src=x onerror=alert(1)>'
INJECTION = "AB-1\r\nBcc: x@evil.example"


def request(template: str, request_id: str = "req-1", **context: Any) -> EmailRequest:
    return EmailRequest(
        request_id=request_id,
        template=template,
        to="ana@example.com",
        customer_id="cust-1",
        context={**CONTEXTS[template], **context},
    )


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a receiving mail server reads it from the wire."""
    data = message.as_bytes(policy=policy.SMTP)
    result = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(result, EmailMessage)
    return result


def test_every_template_has_a_subject() -> None:
    assert set(SUBJECTS) == set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_template_renders_the_facts_in_text_and_html(template: str) -> None:
    rendered = render(request(template))
    for fact in FACTS[template]:
        assert fact in rendered.text, fact
        assert fact in rendered.html, fact
    assert "AB-123-CD" in rendered.subject
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert "<" not in rendered.text
    assert rendered.text.endswith("\n")
    assert not rendered.text.endswith("\n\n")


def test_the_quote_links_to_the_signed_approval_url() -> None:
    rendered = render(request("quote_ready"))
    url = CONTEXTS["quote_ready"]["approve_url"]
    assert url in rendered.text  # plain text keeps the URL as is
    assert 'href="https://portal.regenzet.example/quotes/RO-2026-0042?sig=abc&amp;exp=1"' in (
        rendered.html
    )
    assert rendered.subject == "Your quote for AB-123-CD is ready"


def test_the_garage_name_comes_from_the_context() -> None:
    rendered = render(request("vehicle_ready", garage_name="Volt & Torque"))
    assert "Volt & Torque" in rendered.text
    assert "Volt &amp; Torque" in rendered.html


def test_variants_nothing_to_pay_and_nothing_recommended() -> None:
    paid = render(request("vehicle_ready", balance_due="0.00"))
    assert "nothing left to pay" in paid.text
    assert "balance due" not in paid.html
    clean = render(request("inspection_shared", recommended=[]))
    assert "no further work" in clean.text
    assert "<ul" not in clean.html


@pytest.mark.parametrize("template", TEMPLATES)
def test_hostile_values_are_escaped_in_html(template: str) -> None:
    rendered = render(request(template, customer_name=HOSTILE_NAME, plate=HOSTILE_PLATE))
    assert "<script" not in rendered.html
    assert "<img" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert HOSTILE_NAME in rendered.text  # text/plain shows it as typed; nothing runs it


def test_a_hostile_job_title_and_recommendation_are_escaped() -> None:
    jobs = [{"title": HOSTILE_NAME, "total": "1.00"}]
    assert "<script" not in render(request("quote_ready", jobs=jobs)).html
    assert "<script" not in render(request("inspection_shared", recommended=[HOSTILE_NAME])).html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example/x"])
def test_links_must_be_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        render(request("quote_ready", approve_url=url))


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_subject_injection_cannot_add_headers(template: str) -> None:
    req = request(template, plate=INJECTION, make_model="Model\u2028Y\x00\u202e")
    rendered = render(req)
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject
    assert "\u2028" not in rendered.subject
    assert "\x00" not in rendered.subject
    assert "AB-1 Bcc: x@evil.example" in rendered.subject
    message = parsed(to_mime(req, rendered, SENDER))
    assert message["Bcc"] is None
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == rendered.subject
    assert len(message.get_all("Subject") or []) == 1


def test_long_subjects_are_capped() -> None:
    rendered = render(request("vehicle_ready", make_model="Very Long Model Name " * 20))
    assert len(rendered.subject) == MAX_SUBJECT_LENGTH
    assert rendered.subject.endswith("…")


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_missing_key_raises(template: str) -> None:
    context = dict(CONTEXTS[template])
    del context["customer_name"]
    req = EmailRequest("req-1", template, "ana@example.com", "cust-1", context)
    with pytest.raises(UndefinedError, match="customer_name"):
        render(req)


def test_a_missing_subject_key_raises() -> None:
    context = dict(CONTEXTS["quote_ready"])
    del context["plate"]
    with pytest.raises(KeyError, match="plate"):
        render(EmailRequest("req-1", "quote_ready", "ana@example.com", "cust-1", context))


def test_a_missing_nested_key_raises() -> None:
    with pytest.raises(UndefinedError, match="red"):
        render(request("inspection_shared", summary={"green": 1, "amber": 0}))


def test_an_amount_that_is_not_a_decimal_raises() -> None:
    with pytest.raises(ValueError, match="decimal"):
        render(request("vehicle_ready", balance_due="about 200"))


def test_mime_is_multipart_alternative_with_stable_ids() -> None:
    req = request("quote_ready", request_id="quote_ready:RO-2026-0042:v1")
    rendered = render(req)
    message = parsed(to_mime(req, rendered, SENDER))
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == SENDER
    assert message["Subject"] == rendered.subject
    assert message[REQUEST_ID_HEADER] == "quote_ready:RO-2026-0042:v1"
    assert message[TEMPLATE_HEADER] == "quote_ready"
    assert message["Date"] is not None
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    # Parts travel with CRLF line ends (quoted-printable keeps them when decoded).
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html
    again = parsed(to_mime(req, render(req), SENDER))
    assert again["Message-ID"] == message["Message-ID"] == message_id(req.request_id, SENDER)
    assert message["Message-ID"].endswith("@regenzet.example>")
    other = parsed(to_mime(request("quote_ready", request_id="other"), rendered, SENDER))
    assert other["Message-ID"] != message["Message-ID"]


def test_a_request_refuses_a_second_recipient_and_an_unprintable_request_id() -> None:
    """The contract itself refuses them, before any mailer (``to_mime`` checks again)."""
    with pytest.raises(ValueError, match="one email address"):
        EmailRequest("r", "vehicle_ready", "a@x.example, b@y.example", "c", {})
    with pytest.raises(ValueError, match="one email address"):
        EmailRequest("r", "vehicle_ready", "not an address@", "c", {})
    with pytest.raises(ValueError, match="request_id"):
        request("vehicle_ready", request_id="r\r\nBcc: x@evil.example")
    with pytest.raises(ValueError, match="request_id"):
        EmailRequest.from_json({**request("vehicle_ready").to_json(), "request_id": None})
