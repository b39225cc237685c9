"""``regenzet serve --demo`` as a user runs it: a real uvicorn process on loopback, the demo
garage seeded, docs served, a CLI token accepted and a forged one refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from regenzet.entrypoints.demo import demo_id
from regenzet.entrypoints.http.policy import LINK_OPERATIONS, POLICY, SIGNED_OPERATIONS

from .test_cli import run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    env["REGENZET_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "regenzet.entrypoints", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not become ready within 60 s")
        yield base, {"REGENZET_DATA_DIR": str(tmp_path)}, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_demo_serves_docs_and_accepts_only_genuine_tokens(
    server: tuple[str, dict[str, str], subprocess.Popen[str]],
) -> None:
    base, env, _ = server
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    schema = httpx.get(f"{base}/schema/openapi.json").json()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    # Every use case of the application is an operation of the API.
    # The local sign-in is served (outside the guarded API) because tokens are signed locally;
    # the quote-approval link's operations are authorised by the link's own token.
    assert operations == {
        *POLICY,
        *LINK_OPERATIONS,
        # the local media backend's signed upload and download routes
        *SIGNED_OPERATIONS,
        "health",
        "ready",
        "listDemoPeople",
        "signInAsDemoPerson",
    }
    assert httpx.get(f"{base}/schema").status_code == 200

    staff_id = str(uuid.uuid4())
    token = run(
        ["auth", "token", "--role", "advisor", "--subject", "eva", "--staff-id", staff_id], env
    )
    assert token.returncode == 0, token.stderr
    bearer = token.stdout.strip()
    me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    assert me.status_code == 200
    assert me.json() == {
        "subject": "eva",
        "role": "advisor",
        "customer_id": None,
        "staff_id": staff_id,
    }
    demo = run(["auth", "demo", "sanne"], env)
    assert demo.returncode == 0, demo.stderr
    own = httpx.get(
        f"{base}/api/v1/customers/{demo_id('customer:sanne')}",
        headers={"Authorization": f"Bearer {demo.stdout.strip()}"},
    )
    assert own.status_code == 200
    assert own.json()["name"] == "Sanne de Vries"

    # The server runs the followers: the board shows the demo's repair orders.
    eva = run(["auth", "demo", "eva"], env).stdout.strip()
    board = httpx.get(
        f"{base}/api/v1/board?limit=100&min_position=1",
        headers={"Authorization": f"Bearer {eva}"},
    )
    assert board.status_code == 200, board.text
    assert len(board.json()["items"]) == 7

    head, body, signature = bearer.split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    refused = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_serve_prints_where_the_docs_are_and_how_to_get_tokens(
    server: tuple[str, dict[str, str], subprocess.Popen[str]],
) -> None:
    base, _, process = server
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    assert f"{base}/schema" in output
    for name in ("sanne", "eva", "noor", "pieter", "ines"):
        assert f"auth demo {name}" in output
