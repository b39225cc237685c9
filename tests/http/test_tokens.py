"""Bearer tokens over HTTP: every forgery of the API's own key is the same 401, and no token,
forged or valid, ever comes back in a response body or goes into a log line.

The forgeries are the unit suite's (``tests/unit/test_identity.py``), built here with the very
key pair the app verifies with (``data_dir/keys``), so "tampered role" or "expired" are real
forgeries of our key and not of some other key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from regenzet.adapters.identity import LocalKeyPair
from regenzet.adapters.persistence import sqlite_env
from regenzet.entrypoints.http.problems import JsonLogFormatter

from ..unit.test_identity import AUDIENCE, FORGERIES, ISSUER, Forgery, claims_for, sign
from .conftest import Api, build_api

ME = "/api/v1/me"
REFUSAL = "invalid or expired token"


@pytest.fixture(scope="module")
def token_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One API for the whole module: the forgery table is long and the app is read-only here."""
    data_dir = tmp_path_factory.mktemp("tokens")
    yield from build_api(data_dir, sqlite_env(data_dir / "regenzet.db"))


@pytest.fixture(scope="module")
def app_keys(token_api: Api) -> LocalKeyPair:
    """The key pair the app signs and verifies with (the same files under data_dir/keys)."""
    return LocalKeyPair.load_or_create(token_api.settings.data_dir / "keys")


def bearer(token: str) -> dict[bytes, bytes]:
    # Raw bytes: one forgery carries a non-ASCII character that httpx would refuse as ``str``.
    return {b"Authorization": b"Bearer " + token.encode("utf-8")}


def logged_text(records: list[logging.LogRecord]) -> str:
    """Everything the records would put in the log, as the JSON formatter writes it."""
    formatter = JsonLogFormatter()
    return "\n".join(
        formatter.format(record) + repr(record.args) + repr(getattr(record, "json", None))
        for record in records
    )


def assert_refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["status"] == 401
    assert body["type"].endswith("/unauthorized")
    assert body["detail"] == REFUSAL
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_the_app_verifies_with_the_key_the_suite_forges_with(
    token_api: Api, app_keys: LocalKeyPair
) -> None:
    """Guards the suite: an honest token signed by the same key is accepted, so every 401
    below is caused by the forgery and not by a wrong key, issuer or audience."""
    assert (token_api.settings.jwt_issuer, token_api.settings.jwt_audience) == (ISSUER, AUDIENCE)
    response = token_api.client.get(ME, headers=bearer(sign(app_keys, claims_for())))
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "subject-1"


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__.strip("_"))
def test_every_forged_token_is_the_same_401_and_never_echoed(
    token_api: Api,
    app_keys: LocalKeyPair,
    forge: Forgery,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = forge(app_keys)
    caplog.set_level(logging.DEBUG)

    response = token_api.client.get(ME, headers=bearer(token))

    body = assert_refused(response)
    assert set(body) <= {"type", "title", "status", "detail", "instance", "request_id"}
    if token:
        assert token not in response.text
        assert token not in logged_text(caplog.records)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": ""}, id="empty-header"),
        pytest.param({"Authorization": "Bearer"}, id="scheme-only"),
        pytest.param({"Authorization": "Basic ZXZhOmV2YQ=="}, id="basic-scheme"),
        pytest.param({"Authorization": "Token abc.def.ghi"}, id="other-scheme"),
    ],
)
def test_a_missing_header_or_another_scheme_is_the_same_401(
    token_api: Api, headers: dict[str, str]
) -> None:
    assert_refused(token_api.client.get(ME, headers=headers))


def test_a_valid_token_under_basic_is_still_refused(token_api: Api) -> None:
    token = token_api.auth("eva")["Authorization"].removeprefix("Bearer ")
    response = token_api.client.get(ME, headers={"Authorization": f"Basic {token}"})
    assert_refused(response)
    assert token not in response.text


@pytest.mark.parametrize(
    ("name", "role", "id_field"),
    [
        ("sanne", "customer", "customer_id"),
        ("eva", "advisor", "staff_id"),
        ("noor", "technician", "staff_id"),
        ("pieter", "manager", "staff_id"),
        ("ines", "auditor", None),
    ],
)
def test_a_valid_token_shows_the_principal(
    token_api: Api, name: str, role: str, id_field: str | None
) -> None:
    login = token_api.logins[name]
    response = token_api.client.get(ME, headers=token_api.auth(name))
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["subject"] == login.subject
    assert me["role"] == role
    assert me["customer_id"] == (str(login.customer_id) if login.customer_id else None)
    assert me["staff_id"] == (str(login.staff_id) if login.staff_id else None)
    if id_field is not None:
        assert me[id_field] is not None


def test_the_scheme_name_is_case_insensitive(token_api: Api) -> None:
    token = token_api.auth("eva")["Authorization"].removeprefix("Bearer ")
    response = token_api.client.get(ME, headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200, response.text


def test_a_valid_token_never_reaches_a_log_or_an_error_body(
    token_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = token_api.auth("sanne")
    token = headers["Authorization"].removeprefix("Bearer ")
    c = token_api.client

    responses = [
        c.get(ME, headers=headers),
        # Errors are logged: a 403, a 404, a 400 and a 404 on an unknown route.
        c.post("/api/v1/customers", json={"name": "X", "email": "x@example.nl"}, headers=headers),
        c.get("/api/v1/customers/00000000-0000-4000-8000-000000000000", headers=headers),
        c.post("/api/v1/customers", json={"bogus": token}, headers=token_api.auth("eva")),
        c.get("/api/v1/no-such-route", headers=headers),
    ]

    assert [r.status_code for r in responses] == [200, 403, 404, 400, 404]
    assert any(r.name == "regenzet.http" for r in caplog.records)  # errors were logged
    for response in responses:
        assert token not in response.text
    assert token not in logged_text(caplog.records)
