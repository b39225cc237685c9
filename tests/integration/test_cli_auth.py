"""``regenzet auth token`` as a user runs it: a real subprocess, a real key in the data dir."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from regenzet.application.identity import AUTHENTICATION_FAILED, AuthenticationError, Principal
from regenzet.domain.common import Role
from regenzet.entrypoints.bootstrap import token_verifier
from regenzet.entrypoints.settings import Settings

CUSTOMER_ID = "6f1c1f2e-2d7a-4a51-9a8e-0c6f4f0c2b11"
STAFF_ID = "0b8f4e39-5c55-4f0e-8d8e-7a3b9b6f2c22"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "regenzet.entrypoints", "auth", "token", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verify(data_dir: Path, token: str) -> Principal:
    return token_verifier(Settings.from_env({"REGENZET_DATA_DIR": str(data_dir)})).verify(token)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--role", "customer", "--subject", "sanne", "--customer-id", CUSTOMER_ID],
            Principal("sanne", Role.CUSTOMER, customer_id=UUID(CUSTOMER_ID)),
        ),
        (
            ["--role", "technician", "--subject", "jan", "--staff-id", STAFF_ID],
            Principal("jan", Role.TECHNICIAN, staff_id=UUID(STAFF_ID)),
        ),
        (
            ["--role", "manager", "--subject", "pieter", "--staff-id", STAFF_ID, "--ttl", "60"],
            Principal("pieter", Role.MANAGER, staff_id=UUID(STAFF_ID)),
        ),
        (["--role", "auditor", "--subject", "ines"], Principal("ines", Role.AUDITOR)),
    ],
    ids=lambda v: v[1] if isinstance(v, list) else "",
)
def test_the_printed_token_verifies_with_the_data_dirs_key(
    tmp_path: Path, args: list[str], expected: Principal
) -> None:
    result = run(args, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1  # only the token, so $(regenzet auth token ...) just works
    assert verify(tmp_path, lines[0]) == expected


def test_the_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    env = {"REGENZET_DATA_DIR": str(tmp_path)}
    first = run(["--role", "auditor", "--subject", "a"], env)
    second = run(["--role", "auditor", "--subject", "b"], env)
    assert first.returncode == second.returncode == 0
    keys = tmp_path / "keys"
    files = list(keys.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert verify(tmp_path, first.stdout.strip()).subject == "a"
    assert verify(tmp_path, second.stdout.strip()).subject == "b"


def test_a_token_from_another_data_dir_is_refused(tmp_path: Path) -> None:
    result = run(["--role", "auditor", "--subject", "a"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    with pytest.raises(AuthenticationError) as caught:
        verify(tmp_path / "another", result.stdout.strip())
    assert str(caught.value) == AUTHENTICATION_FAILED


def test_issuer_and_audience_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "REGENZET_DATA_DIR": str(tmp_path),
        "REGENZET_JWT_ISSUER": "garage-7",
        "REGENZET_JWT_AUDIENCE": "garage-7-api",
    }
    token = run(["--role", "auditor", "--subject", "a"], env).stdout.strip()
    assert token_verifier(Settings.from_env(env)).verify(token).subject == "a"
    with pytest.raises(AuthenticationError):
        verify(tmp_path, token)  # the default issuer/audience do not accept it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "superuser", "--subject", "x"], "unknown role 'superuser'"),
        (["--role", "system", "--subject", "x"], "role 'system' cannot be given to a token"),
        (["--role", "customer", "--subject", "x"], "needs a customer id"),
        (["--role", "technician", "--subject", "x"], "needs a staff id"),
        (
            ["--role", "customer", "--subject", "x", "--customer-id", "42"],
            "--customer-id '42' is not a UUID",
        ),
        (
            ["--role", "advisor", "--subject", "x", "--staff-id", "not-a-uuid"],
            "--staff-id 'not-a-uuid' is not a UUID",
        ),
        (["--role", "auditor", "--subject", "x", "--ttl", "0"], "--ttl must be between"),
        (["--role", "auditor", "--subject", "x", "--ttl", "2592001"], "--ttl must be between"),
        (["--role", "auditor", "--subject", "x", "--ttl", "soon"], "not a whole number"),
        (["--role", "auditor", "--subject", ""], "subject must be 1-255 characters"),
    ],
)
def test_bad_input_gives_one_line_and_no_token(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(args, {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode in {1, 2}
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_local_tokens_when_a_jwks_url_is_configured(tmp_path: Path) -> None:
    result = run(
        ["--role", "auditor", "--subject", "x"],
        {
            "REGENZET_DATA_DIR": str(tmp_path),
            "REGENZET_JWKS_URL": "https://cognito-idp.eu-west-1.amazonaws.com/p/.well-known/jwks.json",
            "REGENZET_JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/p",
            "REGENZET_JWT_AUDIENCE": "client",
        },
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "REGENZET_JWKS_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "keys").exists()


def test_an_unusable_key_file_gives_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "signing-key-eddsa.pem").write_bytes(b"not a key")
    os.chmod(keys / "signing-key-eddsa.pem", 0o600)
    result = run(["--role", "auditor", "--subject", "x"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "cannot use the local signing key" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_processes_starting_at_once_share_one_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENZET_")}
    env["REGENZET_DATA_DIR"] = str(tmp_path)
    command = [sys.executable, "-m", "regenzet.entrypoints", "auth", "token", "--role", "auditor"]
    processes = [
        subprocess.Popen(
            [*command, "--subject", f"s{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, outputs
    assert len(list((tmp_path / "keys").iterdir())) == 1
    for i, (stdout, _) in enumerate(outputs):
        assert verify(tmp_path, stdout.strip()).subject == f"s{i}"
