"""The emailed quote-approval link (issue 11 item 12): the token is the only credential, for one
order's current quote and its customer, until it expires. Forged, expired, wrong-audience,
other-order and stale-version tokens are refused; decisions go through the same use case as
the portal, recorded with channel ``email_link``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
import pytest

from regenzet.adapters.persistence import sqlite_env
from regenzet.application.quote_approval import (
    InvalidApprovalLinkError,
    QuoteApprovals,
    QuoteSupersededError,
)
from regenzet.application.scenarios import Job, OrderScript
from regenzet.domain.common import Actor, Role, RuleViolationError
from regenzet.domain.repair_order import ApprovalChannel, LabourLine
from regenzet.entrypoints.bootstrap import signed_links

from .conftest import Api, build_api, customer_id, demo_settings, order_id

LEAF_ORDER = order_id("leaf-balance")  # Lukas's, quote version 1, jobs balance and tyres
LUKAS = customer_id("lukas")
BASE = "/api/v1/quote-approval"
ADVISOR = Actor("eva", Role.ADVISOR)


def link(api: Api, order: UUID = LEAF_ORDER, customer: UUID = LUKAS, version: int = 1) -> str:
    url, _ = signed_links(api.settings, api.clock).quote(order, customer, version)
    return url.split("token=")[1]


def call(api: Api, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"X-Approval-Token": token} if token is not None else {}
    return api.client.request(method, f"{BASE}{path}", json=body, headers=headers)


def test_the_link_shows_the_quote_tax_totals_findings_and_expiry(sqlite_api: Api) -> None:
    response = call(sqlite_api, "GET", "", link(sqlite_api))
    assert response.status_code == 200, response.text
    quote = response.json()
    assert (quote["repair_order_id"], quote["quote_version"]) == (str(LEAF_ORDER), 1)
    jobs = {j["job_id"]: j for j in quote["jobs"]}
    assert set(jobs) == {"balance", "tyres"}
    assert all(j["decidable"] and j["status"] == "quoted" for j in jobs.values())
    order = sqlite_api.workshop.get_repair_order(LEAF_ORDER)
    subtotal = Decimal(quote["subtotal"])
    assert subtotal == order.quoted_subtotal == sum(Decimal(j["amount"]) for j in jobs.values())
    assert Decimal(quote["tax"]) == (subtotal * Decimal(quote["tax_rate"])).quantize(
        Decimal("0.01")
    )
    assert Decimal(quote["total"]) == subtotal + Decimal(quote["tax"])
    [inspection] = quote["inspections"]
    # Amber and red items only (the demo's tyre note names an item the template lacks).
    assert [(f["item_code"], f["rating"]) for f in inspection["findings"]] == [
        ("bms.cell_balance", "amber")
    ]
    assert {m["kind"] for m in inspection["measurements"]} >= {"soh_pct", "tyre_tread_mm"}
    assert quote["expires_at"] > sqlite_api.clock.now().isoformat()
    assert "Lukas" not in response.text  # the page needs no personal data


def test_approving_and_declining_by_link_is_recorded_as_the_customer_by_email_link(
    sqlite_api: Api,
) -> None:
    token = link(sqlite_api)
    approved = call(sqlite_api, "POST", "/jobs/balance/approve", token, {})
    assert approved.status_code == 200, approved.text
    declined = call(sqlite_api, "POST", "/jobs/tyres/decline", token, {"reason": "next spring"})
    assert declined.status_code == 200, declined.text
    view = sqlite_api.client.get(
        f"/api/v1/repair-orders/{LEAF_ORDER}", headers=sqlite_api.auth("eva")
    ).json()
    jobs = {j["job_id"]: j for j in view["jobs"]}
    assert jobs["balance"]["status"] == "approved"
    assert jobs["balance"]["approval_channel"] == "email_link"
    assert jobs["balance"]["approved_by"] == {"subject_id": str(LUKAS), "role": "customer"}
    assert jobs["balance"]["approved_at"] is not None
    # Item 13: a declined job says who, when and how, like an approved one.
    tyres = jobs["tyres"]
    assert (tyres["status"], tyres["declined_channel"], tyres["declined_reason"]) == (
        "declined",
        "email_link",
        "next spring",
    )
    assert tyres["declined_by"] == {"subject_id": str(LUKAS), "role": "customer"}
    assert datetime.fromisoformat(tyres["declined_at"]) == sqlite_api.clock.now()
    # A declined job can still be approved through the link later (the body is optional).
    again = call(sqlite_api, "POST", "/jobs/tyres/approve", token)
    assert again.status_code == 200, again.text


def test_a_retry_with_the_same_idempotency_key_is_replayed(sqlite_api: Api) -> None:
    headers = {"X-Approval-Token": link(sqlite_api), "Idempotency-Key": "link-approve-1"}
    first = sqlite_api.client.post(f"{BASE}/jobs/balance/approve", json={}, headers=headers)
    again = sqlite_api.client.post(f"{BASE}/jobs/balance/approve", json={}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def _forged(api: Api) -> str:
    header, payload, signature = link(api).split(".")
    return f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


def _claims(api: Api) -> dict[str, Any]:
    now = int(api.clock.now().timestamp())
    return {"iss": "regenzet", "aud": "regenzet-quote-approval", "sub": str(LUKAS),
            "ro": str(LEAF_ORDER), "qv": 1, "iat": now, "exp": now + 3600}  # fmt: skip


def _signed(api: Api, claims: dict[str, Any], secret: bytes | None = None) -> str:
    key = secret or (api.settings.data_dir / "keys" / "link-secret").read_text().strip().encode()
    return jwt.encode(claims, key, algorithm="HS256")


BAD_TOKENS = {
    "forged signature": _forged,
    "another secret": lambda api: _signed(api, _claims(api), b"x" * 32),
    "wrong audience": lambda api: _signed(api, {**_claims(api), "aud": "regenzet-api"}),
    "wrong issuer": lambda api: _signed(api, {**_claims(api), "iss": "someone"}),
    "no expiry": lambda api: _signed(api, {k: v for k, v in _claims(api).items() if k != "exp"}),
    "alg none": lambda api: jwt.encode(_claims(api), None, algorithm="none"),
    "a bearer token": lambda api: api.auth("lukas")["Authorization"].split()[1],
    # Signed by us, but for another customer's order: the customer binding refuses it.
    "other order": lambda api: link(api, order=order_id("model3-hv")),
    "other customer": lambda api: link(api, customer=customer_id("sanne")),
    "no such order": lambda api: link(api, order=UUID(int=7)),
    "quote version 0": lambda api: _signed(api, {**_claims(api), "qv": 0}),
    "garbage": lambda api: "not.a.token",
    "empty": lambda api: "",
}


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path: Path = tmp_path_factory.mktemp("links")
    yield from build_api(path, sqlite_env(path / "regenzet.db"))


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_is_the_same_401_everywhere_and_changes_nothing(
    shared_api: Api, kind: str
) -> None:
    token = BAD_TOKENS[kind](shared_api)
    before = shared_api.workshop.recorder.max_notification_id()
    answers = [
        call(shared_api, "GET", "", token),
        call(shared_api, "POST", "/jobs/balance/approve", token, {}),
        call(shared_api, "POST", "/jobs/tyres/decline", token, {}),
    ]
    assert [r.status_code for r in answers] == [401, 401, 401], [r.text for r in answers]
    assert {r.json()["detail"] for r in answers} == {"invalid or expired approval link"}
    assert all("Lukas" not in r.text and "H-456-LF" not in r.text for r in answers)
    assert shared_api.workshop.recorder.max_notification_id() == before


def test_no_token_is_a_401(shared_api: Api) -> None:
    assert call(shared_api, "GET", "", None).status_code == 401
    assert call(shared_api, "POST", "/jobs/balance/approve", None, {}).status_code == 401


def test_an_expired_link_is_refused(sqlite_api: Api) -> None:
    token = link(sqlite_api)
    assert call(sqlite_api, "GET", "", token).status_code == 200
    sqlite_api.clock.advance(timedelta(days=7))
    assert call(sqlite_api, "GET", "", token).status_code == 401
    assert call(sqlite_api, "POST", "/jobs/balance/approve", token, {}).status_code == 401


def _send_second_quote(api: Api) -> None:
    api.workshop.add_job(
        LEAF_ORDER,
        job_id="wipers",
        title="Replace wiper blades",
        labour=[LabourLine("Fit blades", Decimal("0.2"), Decimal("95"))],
        parts=[],
        hv_work=False,
        required_hv_level=None,
        actor=ADVISOR,
    )
    api.workshop.send_quote(LEAF_ORDER, actor=ADVISOR)


def test_a_link_for_quote_version_1_cannot_decide_once_version_2_was_sent(
    sqlite_api: Api,
) -> None:
    old = link(sqlite_api)
    _send_second_quote(sqlite_api)
    before = sqlite_api.workshop.recorder.max_notification_id()
    for method, path in (("GET", ""), ("POST", "/jobs/wipers/approve"),
                         ("POST", "/jobs/balance/approve")):  # fmt: skip
        refused = call(sqlite_api, method, path, old, {} if method == "POST" else None)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/quote-superseded")
    assert sqlite_api.workshop.recorder.max_notification_id() == before
    new = link(sqlite_api, version=2)
    assert call(sqlite_api, "POST", "/jobs/wipers/approve", new, {}).status_code == 200


def test_the_domain_refuses_a_decision_on_a_superseded_quote(sqlite_api: Api) -> None:
    """The race: the link was checked, then a new quote went out before the write."""
    _send_second_quote(sqlite_api)
    response = sqlite_api.client.post(
        f"/api/v1/repair-orders/{LEAF_ORDER}/jobs/balance/approve",
        json={},
        headers=sqlite_api.auth("lukas"),
    )
    assert response.status_code == 200  # no version given: the portal decides on what it shows
    with pytest.raises(RuleViolationError, match="quote version 1") as refused:
        sqlite_api.workshop.decline_job(
            LEAF_ORDER,
            job_id="wipers",
            channel=ApprovalChannel.EMAIL_LINK,
            client_ip=None,
            reason=None,
            actor=Actor(str(LUKAS), Role.CUSTOMER),
            quote_version=1,
        )
    assert refused.value.rule == "quote_superseded"


def test_the_use_case_records_the_client_address(sqlite_api: Api) -> None:
    approvals = QuoteApprovals(
        sqlite_api.workshop, signed_links(sqlite_api.settings, sqlite_api.clock)
    )
    approvals.approve_job(link(sqlite_api), "balance", client_ip="203.0.113.7")
    [event] = [
        e for e in sqlite_api.workshop.get_history(LEAF_ORDER) if e.event_type == "JobApproved"
    ]
    assert (event.data["client_ip"], event.data["channel"]) == ("203.0.113.7", "email_link")
    with pytest.raises(InvalidApprovalLinkError):
        approvals.get_quote("x")
    _send_second_quote(sqlite_api)
    with pytest.raises(QuoteSupersededError):
        approvals.get_quote(link(sqlite_api))


def test_staff_cannot_claim_the_email_link_channel(sqlite_api: Api) -> None:
    response = sqlite_api.client.post(
        f"/api/v1/repair-orders/{LEAF_ORDER}/jobs/balance/approve",
        json={"channel": "email_link"},
        headers=sqlite_api.auth("eva"),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "channel"


def test_link_routes_are_rate_limited_per_address(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, rate_limit_per_ip=3)
    for api in build_api(tmp_path, sqlite_env(tmp_path / "regenzet.db"), settings):
        token = link(api)
        statuses = [call(api, "GET", "", token).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        limited = call(api, "GET", "", "garbage")
        assert limited.status_code == 429  # guessing tokens spends the same budget
        assert int(limited.headers["retry-after"]) >= 1


def test_an_idempotency_key_reused_on_another_orders_link_does_not_replay_that_order(
    sqlite_api: Api,
) -> None:
    """Job ids are chosen per order ("balance" on two orders of one customer): a key used on
    one order's link must not replay that order's decision for another order's link."""
    leaf = UUID(sqlite_api.workshop.get_repair_order(LEAF_ORDER).vehicle_id.hex)
    km = sqlite_api.workshop.get_vehicle(leaf).odometer_km
    second = OrderScript.open(
        sqlite_api.workshop, vehicle_id=leaf, customer_id=LUKAS, advisor=ADVISOR,
        concerns=["Cell balance again"], odometer_in_km=km, soc_in_pct=None,
    ).quote(
        Job("balance", "Balance the cells", (LabourLine("Balance", Decimal("1"), Decimal("95")),))
    ).id  # fmt: skip
    key = {"Idempotency-Key": "approve-balance"}
    first = sqlite_api.client.post(
        f"{BASE}/jobs/balance/approve", json={},
        headers={"X-Approval-Token": link(sqlite_api), **key},
    )  # fmt: skip
    assert first.status_code == 200, first.text
    other = sqlite_api.client.post(
        f"{BASE}/jobs/balance/approve", json={},
        headers={"X-Approval-Token": link(sqlite_api, order=second), **key},
    )  # fmt: skip
    assert other.headers.get("idempotent-replayed") != "true"
    assert other.status_code == 200, other.text
    assert other.json()["id"] == str(second)
    [job] = sqlite_api.workshop.get_repair_order(second).jobs
    assert (job.status, job.approval_channel) == ("approved", "email_link")


def test_an_idempotency_key_reused_after_a_re_quote_does_not_replay_the_old_quotes_decision(
    sqlite_api: Api,
) -> None:
    """The key's scope names the quote version too: after a new quote, the same key on the new
    link decides on the new quote instead of replaying the superseded one's answer."""
    key = {"Idempotency-Key": "approve-wipers"}
    first = sqlite_api.client.post(
        f"{BASE}/jobs/balance/approve", json={},
        headers={"X-Approval-Token": link(sqlite_api), **key},
    )  # fmt: skip
    assert first.status_code == 200, first.text
    _send_second_quote(sqlite_api)
    again = sqlite_api.client.post(
        f"{BASE}/jobs/wipers/approve", json={},
        headers={"X-Approval-Token": link(sqlite_api, version=2), **key},
    )  # fmt: skip
    assert again.headers.get("idempotent-replayed") != "true"
    assert again.status_code == 200, again.text
    jobs = sqlite_api.workshop.get_repair_order(LEAF_ORDER).jobs
    assert next(j for j in jobs if j.job_id == "wipers").status == "approved"
