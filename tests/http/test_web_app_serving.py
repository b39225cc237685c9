"""The API serves the built web app: deep links, content types, cache headers, the CSP, the
app's config; and the local sign-in exists only when tokens are signed locally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from regenzet.adapters.clock import SystemClock
from regenzet.entrypoints.bootstrap import (
    http_services,
    memory_env,
    openapi_document,
    web_routes,
    workshop_for,
)
from regenzet.entrypoints.http.app import create_app
from regenzet.entrypoints.settings import MediaSettings, Settings

REPO = Path(__file__).resolve().parents[2]
INDEX = (
    '<!doctype html><html><head><script type="module" src="/assets/app-3f2a1b.js"></script>'
    '</head><body><div id="root"></div></body></html>'
)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-3f2a1b.js").write_text("console.log('app')")
    (root / "assets" / "app-3f2a1b.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


def client_for(settings: Settings) -> Iterator[TestClient[Any]]:
    clock = SystemClock()
    workshop = workshop_for(memory_env(), clock)
    services = http_services(settings, workshop, memory_env())
    app = create_app(services, extra_routes=web_routes(settings, clock))
    try:
        with TestClient(app) as client:
            yield client
    finally:
        workshop.close()


@pytest.fixture
def web(tmp_path: Path, dist: Path) -> Iterator[TestClient[Any]]:
    settings = Settings(data_dir=tmp_path / "var", database_url=None, web_dist=dist)
    yield from client_for(settings)


def test_the_app_is_served_at_the_root_and_not_cached(web: TestClient[Any]) -> None:
    response = web.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "attachment" not in response.headers.get("content-disposition", "")


@pytest.mark.parametrize(
    "path",
    [
        "/board",
        "/repair-orders/0b1c2d3e-0000-4000-8000-000000000001",
        "/portal/repair-orders/0b1c2d3e-0000-4000-8000-000000000001/quote?token=abc.def",
    ],
)
def test_deep_links_fall_back_to_the_app(web: TestClient[Any], path: str) -> None:
    response = web.get(path)
    assert response.status_code == 200
    assert response.text == INDEX


def test_hashed_assets_are_immutable_with_their_content_type(web: TestClient[Any]) -> None:
    script = web.get("/assets/app-3f2a1b.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    directives = {d.strip() for d in script.headers["cache-control"].split(",")}
    assert directives == {"public", "max-age=31536000", "immutable"}
    assert script.headers["x-content-type-options"] == "nosniff"
    style = web.get("/assets/app-3f2a1b.css")
    assert style.headers["content-type"].startswith("text/css")


def test_a_missing_asset_is_a_404_not_the_app(web: TestClient[Any]) -> None:
    response = web.get("/assets/app-gone.js")
    assert response.status_code == 404
    assert INDEX not in response.text


def test_unknown_api_paths_stay_404_problems(web: TestClient[Any]) -> None:
    response = web.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert web.get("/api/v1/board").status_code == 401  # the API itself is still guarded


def test_files_at_the_top_of_dist_are_served(web: TestClient[Any]) -> None:
    response = web.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


def test_html_carries_a_strict_content_security_policy(web: TestClient[Any]) -> None:
    csp = web.get("/board").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "http" not in csp


def test_the_local_sign_in_lists_demo_people_and_mints_a_working_token(
    web: TestClient[Any],
) -> None:
    assert web.get("/config.json").json() == {"auth": "local"}
    people = {p["name"]: p for p in web.get("/auth/local/people").json()["items"]}
    assert people["eva"]["role"] == "advisor"
    assert people["eva"]["display_name"] == "Eva Jansen"
    assert people["noor"]["hv_level"] == 3
    session = web.post("/auth/local/sign-in", json={"name": "noor"}).json()
    me = web.get("/api/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "technician"
    assert me.json()["staff_id"] == people["noor"]["staff_id"]
    assert "set-cookie" not in web.post("/auth/local/sign-in", json={"name": "eva"}).headers


def test_signing_in_as_nobody_is_refused(web: TestClient[Any]) -> None:
    response = web.post("/auth/local/sign-in", json={"name": "mallory"})
    assert response.status_code == 404
    assert "mallory" in response.json()["detail"]
    assert web.post("/auth/local/sign-in", json={"nom": "eva"}).status_code == 400


def test_with_cognito_there_is_no_local_sign_in_and_the_app_uses_oidc(
    tmp_path: Path, dist: Path
) -> None:
    issuer = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbCdEf"
    settings = attrs.evolve(
        Settings(data_dir=tmp_path / "var", database_url=None, web_dist=dist),
        jwks_url=f"{issuer}/.well-known/jwks.json",
        jwt_issuer=issuer,
        jwt_audience="4abcdclient",
    )
    for client in client_for(settings):
        assert client.get("/auth/local/people").status_code == 404
        # Only the app's GET catch-all remains at that path: no handler mints anything.
        assert client.post("/auth/local/sign-in", json={"name": "eva"}).status_code in {404, 405}
        config = client.get("/config.json").json()
        assert config == {
            "auth": "oidc",
            "oidc": {
                "authority": issuer,
                "client_id": "4abcdclient",
                "scope": "openid email profile",
            },
        }
        csp = client.get("/").headers["content-security-policy"]
        assert "connect-src 'self' https://cognito-idp.eu-central-1.amazonaws.com" in csp


def test_with_media_on_s3_the_app_may_upload_to_and_load_from_the_bucket_only(
    tmp_path: Path, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser posts uploads straight to the bucket and loads presigned images and videos
    # from it: without its origin in the CSP the app's own page would block them.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    settings = attrs.evolve(
        Settings(data_dir=tmp_path / "var", database_url=None, web_dist=dist),
        media=MediaSettings(backend="s3", bucket="rz-media-test", kms_key_id="alias/rz-media"),
    )
    bucket = "https://rz-media-test.s3.eu-central-1.amazonaws.com"
    for client in client_for(settings):
        csp = client.get("/").headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["connect-src"] == f"'self' {bucket}"
        assert directives["img-src"] == f"'self' data: blob: {bucket}"
        assert directives["media-src"] == f"'self' blob: {bucket}"
        assert directives["script-src"] == "'self'"
        assert directives["form-action"] == "'self'"


def test_without_a_build_the_root_says_how_to_build(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=None, web_dist=tmp_path / "none")
    for client in client_for(settings):
        response = client.get("/")
        assert response.status_code == 503
        assert "npm --prefix web ci" in response.text


def test_the_web_apps_openapi_document_matches_the_server() -> None:
    """The web client's types are generated from web/openapi.json: it must be the server's
    document (regenerate with `regenzet openapi --output web/openapi.json`, then
    `npm --prefix web run api:types`)."""
    committed = json.loads((REPO / "web" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document())), (
        "web/openapi.json is stale: run `regenzet openapi --output web/openapi.json` and "
        "`npm --prefix web run api:types`"
    )


def test_building_the_openapi_document_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `regenzet openapi` runs from a checkout: it must not leave local secrets in it.
    monkeypatch.chdir(tmp_path)
    assert openapi_document()["paths"]
    assert list(tmp_path.iterdir()) == []
