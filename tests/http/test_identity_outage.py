"""When Cognito's JWKS cannot be fetched the API says "unavailable, retry" (503), not "your
token is bad" (401): clients must not throw away a good token or log users out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient

from regenzet.adapters.clock import SystemClock
from regenzet.adapters.identity import JwtTokenVerifier
from regenzet.adapters.persistence import sqlite_env
from regenzet.entrypoints.bootstrap import http_services, workshop_for
from regenzet.entrypoints.http.app import create_app

from ..unit.test_identity import (
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    JWKS_URL,
    UnreachableJwksClient,
    id_token,
)
from .conftest import demo_settings


@pytest.fixture
def outage_client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    env = sqlite_env(tmp_path / "regenzet.db")
    settings = attrs.evolve(demo_settings(tmp_path), jwks_url=JWKS_URL)
    workshop = workshop_for(env, SystemClock())
    verifier = JwtTokenVerifier.jwks(
        JWKS_URL,
        issuer=COGNITO_ISSUER,
        audience=COGNITO_CLIENT,
        client=UnreachableJwksClient({"keys": []}),
    )
    services = http_services(settings, workshop, env, verifier=verifier)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client
    services.idempotency.close()
    workshop.close()


def test_an_identity_provider_outage_is_a_503_with_retry_after(
    outage_client: TestClient[Any],
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = outage_client.get("/api/v1/me", headers={"Authorization": f"Bearer {id_token(key)}"})
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/unavailable")
