"""Who may call what (the role matrix) and whose records a customer reaches (the BOLA matrix).

The expected matrix below is written out independently of ``policy.POLICY``: the code's table
must equal it, and every API route is called with every role so that removing the guard or a
single entry fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar.handlers import HTTPRouteHandler

from regenzet.adapters.persistence import sqlite_env
from regenzet.domain.common import Role
from regenzet.domain.vehicle import Vehicle
from regenzet.entrypoints.demo import demo_id
from regenzet.entrypoints.http.policy import LINK_OPERATIONS, POLICY, SIGNED_OPERATIONS

from .conftest import Api, build_api, customer_id, order_id
from .test_lists_api import LIST_BOLA_CASES, LIST_OWN_ROWS

C, A, T, M, AU = "customer", "advisor", "technician", "manager", "auditor"
ALL = {C, A, T, M, AU}

EXPECTED: dict[str, set[str]] = {
    "whoAmI": ALL,
    "registerCustomer": {A, M},
    "getCustomer": {C, A, M, AU},
    "changeCustomerContact": {C, A, M},
    "changeCustomerPreferences": {C, A, M},
    "hireStaffMember": {M},
    "getStaffMember": {A, T, M, AU},
    "recordHvQualification": {M},
    "deactivateStaffMember": {M},
    "registerVehicle": {A, M},
    "getVehicle": ALL,
    "findVehicleByVin": {A, T, M, AU},
    "transferVehicleOwnership": {A, M},
    "recordOdometer": {A, T, M},
    "correctOdometer": {M},
    "recordBatteryHealth": {T, M},
    "recordSoftwareVersion": {T, M},
    "registerBatteryWarranty": {A, M},
    "openRepairOrder": {A, M},
    "getRepairOrder": ALL,
    "addJob": {A, M},
    "reviseJob": {A, M},
    "removeJob": {A, M},
    "sendQuote": {A, M},
    "approveJob": {C, A, M},
    "declineJob": {C, A, M},
    "assignTechnician": {A, M},
    "isolateHv": {T},
    "restoreHv": {T},
    "clockOn": {T},
    "clockOff": {T},
    "requestParts": {A, T, M},
    "receiveParts": {A, M},
    "completeJob": {T},
    "passQualityCheck": {T, M},
    "failQualityCheck": {T, M},
    "invoiceRepairOrder": {A, M},
    "recordPayment": {A, M},
    "releaseVehicle": {A, M},
    "cancelRepairOrder": {A, M},
    "requestRepairOrderMediaUpload": {A, T, M},
    "confirmRepairOrderMedia": {A, T, M},
    "listRepairOrderMedia": ALL,
    "getRepairOrderMedia": ALL,
    "startInspection": {T},
    "getInspection": ALL,
    "rateInspectionItem": {T},
    "recordMeasurement": {T},
    "requestInspectionMediaUpload": {T},
    "confirmInspectionMedia": {T},
    "annotateInspectionMedia": {T},
    "listInspectionMedia": ALL,
    "getInspectionMedia": ALL,
    "completeInspection": {T},
    "shareInspection": {A, T, M},
    "getAuditLog": {M, AU},
    "getAggregateHistory": {M, AU},
    "getAggregateState": {M, AU},
    "getAggregateDiff": {M, AU},
    "getAuditVerification": {M, AU},
    "getAuditCheckpoints": {M, AU},
    "getWorkshopBoard": {A, T, M, AU},
    "getVehicleProfile": ALL,
    "getCustomerPortal": {C, A, M, AU},
    "getTechnicianWorkload": {A, T, M, AU},
    "getInspectionSummary": ALL,
    "getKpis": {M, AU},
    "listCustomers": {C, A, M, AU},
    "listVehicles": ALL,
    "listStaff": {A, T, M, AU},
    "listInspections": ALL,
    "listRepairOrders": ALL,
    "getInspectionTemplate": ALL,
    "chat": ALL,
    "listChatTurns": ALL,
}


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One demo garage for the read-mostly matrices (the calls use random ids or are refused)."""
    path: Path = tmp_path_factory.mktemp("authz")
    yield from build_api(path, sqlite_env(path / "regenzet.db"))


def api_routes(api: Api) -> list[tuple[str, str, HTTPRouteHandler]]:
    routes = []
    for route in api.client.app.routes:
        if not route.path.startswith("/api/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                routes.append((method, route.path, handler))
    return routes


def concrete(path: str) -> str:
    """Fills path parameters with ids that exist nowhere."""
    path = re.sub(r"\{[a-z_]+:uuid\}", lambda _: str(uuid4()), path)
    path = re.sub(r"\{vin:str\}", "WVWZZZE1ZMP999999", path)
    return re.sub(r"\{[a-z_]+:str\}", "x-1", path)


def headers_for(api: Api, role: str) -> dict[str, str]:
    name = {C: "sanne", A: "eva", T: "noor", M: "pieter", AU: "ines"}[role]
    return api.auth(name)


def call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    body = None if method in {"GET", "DELETE"} else {}
    return api.client.request(method, path, json=body, headers=headers)


def test_the_policy_table_is_the_expected_matrix() -> None:
    assert {op: {r.value for r in roles} for op, roles in POLICY.items()} == EXPECTED


# POSTs that change no record: the assistant only reads (its tools are read-only); what it
# stores is the caller's own audit turn.
READ_ONLY_POSTS = {"chat"}


def test_the_auditor_never_mutates() -> None:
    writes = [
        op
        for op in EXPECTED
        if not op.startswith(("get", "find", "list", "whoAmI")) and op not in READ_ONLY_POSTS
    ]
    assert writes
    assert [op for op in writes if Role.AUDITOR in POLICY[op]] == []


def test_every_api_route_has_an_explicit_entry(shared_api: Api) -> None:
    operations = {str(h.operation_id) for _, _, h in api_routes(shared_api)}
    # The quote-approval link's routes take the link's token, never a role's bearer token.
    assert {"getQuoteApproval", "approveJobByLink", "declineJobByLink"} == LINK_OPERATIONS
    # The local media backend's upload ticket and download link: an HMAC signature, no token.
    assert {"uploadMediaFile", "downloadMediaFile"} == SIGNED_OPERATIONS
    assert operations == set(EXPECTED) | LINK_OPERATIONS | SIGNED_OPERATIONS
    assert not LINK_OPERATIONS & set(POLICY)
    assert not SIGNED_OPERATIONS & set(POLICY)


def test_a_bearer_token_of_any_role_does_not_open_the_signed_routes(shared_api: Api) -> None:
    """Without the signature a token of any role gets the same refusal as no token at all."""
    upload_form = (
        b'--b\r\nContent-Disposition: form-data; name="key"\r\n\r\npending/x/y/z\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--b--\r\n'
    )
    signed = [h for _, _, h in api_routes(shared_api) if h.operation_id in SIGNED_OPERATIONS]
    assert len(signed) == 2
    for role in [None, *sorted(ALL)]:
        headers = headers_for(shared_api, role) if role else {}
        upload = shared_api.client.post(
            "/api/v1/media-files/upload",
            content=upload_form,
            headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert upload.status_code == 403, (role, upload.text)
        assert upload.json()["type"].endswith("/ticket-refused")
        download = shared_api.client.get(
            "/api/v1/media-files/download",
            params={
                "key": "media/x/y/original",
                "ct": "image/png",
                "fn": "a.png",
                "disp": "inline",
                "exp": "99999999999",
                "sig": "0" * 64,
            },
            headers=headers,
        )
        assert download.status_code == 403, (role, download.text)
        assert download.json()["type"].endswith("/ticket-refused")


def test_a_bearer_token_of_any_role_does_not_open_the_link_routes(shared_api: Api) -> None:
    for role in sorted(ALL):
        for method, path, handler in api_routes(shared_api):
            if handler.operation_id in LINK_OPERATIONS:
                response = call(shared_api, method, concrete(path), headers_for(shared_api, role))
                assert response.status_code == 401, (role, handler.operation_id)


@pytest.mark.parametrize("role", sorted(ALL))
def test_each_role_reaches_exactly_its_operations(shared_api: Api, role: str) -> None:
    wrong = []
    for method, path, handler in api_routes(shared_api):
        if handler.operation_id in LINK_OPERATIONS | SIGNED_OPERATIONS:
            continue  # no role opens them (tests above)
        response = call(shared_api, method, concrete(path), headers_for(shared_api, role))
        allowed = role in EXPECTED[str(handler.operation_id)]
        if allowed == (response.status_code == 403):
            wrong.append((handler.operation_id, response.status_code))
        if response.status_code == 403:
            assert response.json()["type"].endswith("/forbidden")
    assert wrong == []


def test_every_api_route_needs_a_token(shared_api: Api) -> None:
    statuses = {
        handler.operation_id: call(shared_api, method, concrete(path), {}).status_code
        for method, path, handler in api_routes(shared_api)
        if handler.operation_id not in SIGNED_OPERATIONS  # a signature instead (test above)
    }
    assert set(statuses.values()) == {401}


# ---------------------------------------------------------------------------------------------
# Object level: every id-taking route a customer may call, with another customer's token.
# ---------------------------------------------------------------------------------------------

LEAF_VEHICLE = Vehicle.create_id("1N4AZ1CP0JC306212")
LEAF_ORDER = order_id("leaf-balance")  # Lukas's, quoted and awaiting his approval
LEAF_INSPECTION = f"/api/v1/inspections/{demo_id('inspection:leaf')}"
LEAF_PHOTO = demo_id("media:charge-port.jpg")
LEAF_CHECK_IN = demo_id("media:bumper-scuff.jpg")
LEAKS = [
    "Lukas",
    "Meyer",
    "lukas.meyer@example.de",
    "1N4AZ1CP0JC306212",
    "H-456-LF",
    "Leaf",
    "charge-port",
    "bumper-scuff",
    "media-files",
]

# (operation, method, path, body): each is valid for Lukas, the owner.
BOLA_CASES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("getCustomer", "GET", f"/api/v1/customers/{customer_id('lukas')}", None),
    (
        "changeCustomerContact",
        "POST",
        f"/api/v1/customers/{customer_id('lukas')}/contact",
        {"email": "lukas@new.example", "phone": None},
    ),
    (
        "changeCustomerPreferences",
        "POST",
        f"/api/v1/customers/{customer_id('lukas')}/preferences",
        {"email": True, "sms": True},
    ),
    ("getVehicle", "GET", f"/api/v1/vehicles/{LEAF_VEHICLE}", None),
    ("getRepairOrder", "GET", f"/api/v1/repair-orders/{LEAF_ORDER}", None),
    ("approveJob", "POST", f"/api/v1/repair-orders/{LEAF_ORDER}/jobs/balance/approve", {}),
    (
        "declineJob",
        "POST",
        f"/api/v1/repair-orders/{LEAF_ORDER}/jobs/tyres/decline",
        {"reason": "not now"},
    ),
    ("getInspection", "GET", f"/api/v1/inspections/{demo_id('inspection:leaf')}", None),
    ("getVehicleProfile", "GET", f"/api/v1/vehicles/{LEAF_VEHICLE}/profile", None),
    ("getCustomerPortal", "GET", f"/api/v1/customers/{customer_id('lukas')}/portal", None),
    (
        "getInspectionSummary",
        "GET",
        f"/api/v1/inspections/{demo_id('inspection:leaf')}/summary",
        None,
    ),
    # Media (issue 13): Lukas's shared inspection's photo and his order's check-in photo;
    # neither metadata nor a minted URL reaches another customer.
    ("listInspectionMedia", "GET", f"{LEAF_INSPECTION}/media", None),
    ("getInspectionMedia", "GET", f"{LEAF_INSPECTION}/media/{LEAF_PHOTO}", None),
    ("listRepairOrderMedia", "GET", f"/api/v1/repair-orders/{LEAF_ORDER}/media", None),
    (
        "getRepairOrderMedia",
        "GET",
        f"/api/v1/repair-orders/{LEAF_ORDER}/media/{LEAF_CHECK_IN}",
        None,
    ),
]


def test_the_bola_cases_cover_every_customer_route_that_takes_an_id() -> None:
    # The assistant takes no record id: its tools' object checks are tested through the chat
    # (tests/chat/test_chat_api.py and test_injection.py); listChatTurns lists only the
    # caller's own turns.
    customer_ops = {op for op, roles in EXPECTED.items() if C in roles} - {
        "whoAmI",
        "chat",
        "listChatTurns",
    }
    # Lists are covered in test_lists_api: ids in their filters, and own rows only.
    lists = {case[0] for case in LIST_BOLA_CASES} | LIST_OWN_ROWS | {"getInspectionTemplate"}
    assert {case[0] for case in BOLA_CASES} | lists == customer_ops


@pytest.mark.parametrize(("operation", "method", "path", "body"), BOLA_CASES)
def test_another_customers_record_is_a_404_that_leaks_nothing(
    sqlite_api: Api, operation: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    vehicle = sqlite_api.workshop.get_vehicle(LEAF_VEHICLE)
    assert vehicle.owner_id == customer_id("lukas")  # the fixture is what the case assumes
    before = sqlite_api.workshop.recorder.max_notification_id()

    stolen = sqlite_api.client.request(method, path, json=body, headers=sqlite_api.auth("sanne"))
    assert stolen.status_code == 404, (operation, stolen.text)
    assert stolen.headers["content-type"].startswith("application/problem+json")
    assert not [leak for leak in LEAKS if leak in stolen.text]
    assert "etag" not in stolen.headers
    assert sqlite_api.workshop.recorder.max_notification_id() == before

    missing = sqlite_api.client.request(
        method,
        path.replace(path.split("/")[4], str(uuid4())),
        json=body,
        headers=sqlite_api.auth("sanne"),
    )
    # Someone else's record and no record at all look the same (but for the id asked for).
    assert missing.status_code == 404
    assert missing.json()["title"] == stolen.json()["title"]

    owned = sqlite_api.client.request(method, path, json=body, headers=sqlite_api.auth("lukas"))
    assert owned.status_code in {200, 201}, (operation, owned.text)


def test_another_customers_media_gives_no_ticket_and_no_url(sqlite_api: Api) -> None:
    """Customers never get an upload ticket (the policy, 403 for their own records too), and
    the media routes of another customer's records are the 404 of a missing id, with no
    URL in them (the cases above); the owner gets the URLs."""
    photo = {
        "file_name": "x.jpg",
        "content_type": "image/jpeg",
        "size": 10,
        "sha256": "a" * 64,
    }
    for path in (
        f"{LEAF_INSPECTION}/media/uploads",
        f"/api/v1/repair-orders/{LEAF_ORDER}/media/uploads",
    ):
        for who in ("sanne", "lukas"):
            refused = sqlite_api.client.post(path, json=photo, headers=sqlite_api.auth(who))
            assert refused.status_code == 403, (path, who, refused.text)
    stolen = sqlite_api.client.get(f"{LEAF_INSPECTION}/media", headers=sqlite_api.auth("sanne"))
    assert stolen.status_code == 404
    assert "url" not in stolen.text
    own = sqlite_api.client.get(f"{LEAF_INSPECTION}/media", headers=sqlite_api.auth("lukas"))
    (item,) = own.json()["items"]
    assert item["media_id"] == str(LEAF_PHOTO)
    assert all(item[name] for name in ("preview_url", "thumbnail_url", "download_url"))


def test_an_unshared_inspections_media_is_a_404_to_its_own_customer(sqlite_api: Api) -> None:
    bolt = f"/api/v1/inspections/{demo_id('inspection:bolt')}"  # Greencab's, in progress
    photo = demo_id("media:brake-disc.jpg")
    for path in (f"{bolt}/media", f"{bolt}/media/{photo}"):
        refused = sqlite_api.client.get(path, headers=sqlite_api.auth("greencab"))
        assert refused.status_code == 404, refused.text
        assert refused.json()["type"].endswith("/not-found")
        assert sqlite_api.client.get(path, headers=sqlite_api.auth("noor")).status_code == 200


def test_the_auditor_reads_media_metadata_with_every_url_null(sqlite_api: Api) -> None:
    for path in (f"{LEAF_INSPECTION}/media", f"/api/v1/repair-orders/{LEAF_ORDER}/media"):
        (item,) = sqlite_api.client.get(path, headers=sqlite_api.auth("ines")).json()["items"]
        assert (len(item["sha256"]), item["width"]) == (64, 800)
        urls = ("thumbnail_url", "preview_url", "download_url", "urls_expire_at")
        assert [item[name] for name in urls] == [None] * 4
