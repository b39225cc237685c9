"""Acceptance for the image without a Docker daemon: build the wheel, install it into a clean
venv exactly as deploy/Dockerfile does (with deploy/constraints.txt), and run the image's three
service commands (deploy/services.json, the same file the CDK app reads) against a temporary
SQLite data directory: each becomes healthy by its own health check, works with the others,
and exits 0 on SIGTERM (the API after finishing the request in flight).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_serve import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SERVICES: dict[str, Any] = json.loads((DEPLOY / "services.json").read_text())
IMAGE_DATA_DIR = "/var/lib/regenzet"


def _json_instruction(dockerfile: str, instruction: str) -> list[str]:
    """The exec-form argument list of the last INSTRUCTION (CMD, or HEALTHCHECK's CMD)."""
    joined = dockerfile.replace("\\\n", " ")
    found = re.findall(rf"^{instruction}\b.*?(\[.*\])\s*$", joined, flags=re.MULTILINE)
    assert found, f"no exec-form {instruction} in deploy/Dockerfile"
    value: list[str] = json.loads(found[-1])
    return value


def test_the_image_runs_the_api_as_a_non_root_user_with_its_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    start = dockerfile.index("AS runtime")
    runtime = dockerfile[start : dockerfile.index("\nFROM ", start)]
    assert _json_instruction(runtime, "CMD") == SERVICES["api"]["command"]
    assert _json_instruction(runtime, "HEALTHCHECK") == SERVICES["api"]["health"]
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.MULTILINE)
    assert f"REGENZET_DATA_DIR={IMAGE_DATA_DIR}" in runtime
    assert re.search(r"^STOPSIGNAL SIGTERM$", runtime, flags=re.MULTILINE)
    assert "--constraint deploy/constraints.txt" in dockerfile
    # The final stage, what a plain `docker build` gives, is the service image.
    assert dockerfile.rstrip().splitlines()[-1] == "FROM runtime"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The product's wheel, built as the image builds it: from a copy of pyproject.toml,
    README.md and src/ alone (a checkout's own build/ directory would otherwise leak stale
    files, such as a removed module, into the wheel)."""
    dist = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        check=True,
        timeout=600,
    )
    wheels = list(dist.glob("regenzet-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_the_wheel_ships_the_product_and_not_the_benchmarks(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "regenzet/entrypoints/cli.py" in names
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"regenzet"}
    assert not [name for name in names if "bench" in name.rsplit("/", 1)[-1]]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A clean venv with the built wheel, installed the way the image installs it."""
    work = tmp_path_factory.mktemp("image")
    target = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=600)
    pip = [str(target / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [
            *pip,
            "install",
            "--quiet",
            "--constraint",
            str(DEPLOY / "constraints.txt"),
            str(wheel),
        ],
        check=True,
        timeout=900,
    )
    subprocess.run([*pip, "check"], check=True, timeout=120)
    return target


class Service:
    """One of the image's commands, started from the clean venv like the container starts it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout = ""
        self.stderr = ""

    def stop(self, timeout: float = 40) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def _healthy(
    command: list[str], env: dict[str, str], cwd: Path, service: Service, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            out, err = service.process.communicate()
            pytest.fail(f"{service.name} exited {service.process.returncode}: {out}\n{err}")
        probe = subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"{service.name} did not become healthy within {timeout} s ({command})")


@pytest.fixture
def image_env(venv: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    data = tmp_path / "data"  # stands in for the image's /var/lib/regenzet volume
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGENZET_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["REGENZET_DATA_DIR"] = str(data)
    env.pop("PYTHONPATH", None)
    cwd = tmp_path / "app"  # like the image's /app: no source tree to import from
    cwd.mkdir()
    yield env, cwd
    shutil.rmtree(data, ignore_errors=True)


def _in_image(args: list[str], data: str, port: int) -> list[str]:
    """The image's command with its paths and port mapped onto this machine (loopback only)."""
    mapped = [a.replace(IMAGE_DATA_DIR, data) for a in args]
    mapped = [a.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for a in mapped]
    return ["127.0.0.1" if a == "0.0.0.0" else str(port) if a == "8000" else a for a in mapped]  # noqa: S104


# Building the wheel and installing it into a fresh venv takes minutes on a busy machine.
@pytest.mark.timeout(1500)
def test_the_three_services_run_from_the_wheel_and_stop_cleanly_on_sigterm(
    venv: Path, image_env: tuple[dict[str, str], Path]
) -> None:
    env, cwd = image_env
    data = env["REGENZET_DATA_DIR"]
    port = free_port()
    regenzet = str(venv / "bin" / "regenzet")
    seeded = subprocess.run(
        [regenzet, "demo"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr

    started: list[Service] = []
    try:
        followers = Service(
            "followers", _in_image(SERVICES["followers"]["command"], data, port), env, cwd
        )
        started.append(followers)
        relay = Service("relay", _in_image(SERVICES["relay"]["command"], data, port), env, cwd)
        started.append(relay)
        _healthy(_in_image(SERVICES["followers"]["health"], data, port), env, cwd, followers, 120)
        _healthy(_in_image(SERVICES["relay"]["health"], data, port), env, cwd, relay, 120)

        # As in the task definition: the API leaves following to the followers service.
        api_env = env | {"REGENZET_FOLLOWERS_IN_PROCESS": "off"}
        api = Service("api", _in_image(SERVICES["api"]["command"], data, port), api_env, cwd)
        started.append(api)
        _healthy(_in_image(SERVICES["api"]["health"], data, port), env, cwd, api, 120)

        base = f"http://127.0.0.1:{port}"
        token = subprocess.run(
            [regenzet, "auth", "demo", "eva"],
            check=False,
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/ready", timeout=10).status_code == 200

        def register(n: int) -> int:
            answer = httpx.post(
                f"{base}/api/v1/customers",
                json={"name": f"Image Test {n}", "email": f"image{n}@example.nl", "phone": None},
                headers=headers,
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            return int(answer.json()["position"])

        # The followers service keeps the API's read models up to date.
        position = register(1)
        board = httpx.get(
            f"{base}/api/v1/board", params={"min_position": position}, headers=headers, timeout=30
        )
        assert board.status_code == 200, board.text

        assert followers.stop() == 0, followers.stderr
        assert "stopped at a batch boundary:" in followers.stdout

        # Nobody follows now, so this read waits (2 s) for a position that never comes: a
        # request in flight when SIGTERM arrives. uvicorn must finish it before exiting.
        position = register(2)
        # The request is on the wire (a raw socket: sent before the signal, whatever the load).
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        conn.sendall(
            (
                f"GET /api/v1/board?min_position={position} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        time.sleep(0.3)
        api.process.send_signal(signal.SIGTERM)
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
        conn.close()
        api.stdout, api.stderr = api.process.communicate(timeout=60)
        assert api.process.returncode == 0, api.stderr
        assert b" 503 " in raw.split(b"\r\n", 1)[0], raw[:200]
        assert b"read-model-behind" in raw
        assert relay.stop() == 0, relay.stderr
        assert "relaying integration events to" in relay.stdout
        for service in started:
            assert "Traceback" not in service.stderr, f"{service.name}: {service.stderr}"
    finally:
        for service in started:
            service.kill()
