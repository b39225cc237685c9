"""A private, throwaway Postgres cluster for the tests that stop the database hard.

The shared server other suites use is never stopped: this one lives in a temporary directory,
listens on a loopback port of its own, and is always stopped and deleted afterwards. Run only
with REGENZET_TEST_POSTGRES_DSN set (CI); with REGENZET_REQUIRE_POSTGRES=1 missing binaries are
a failure rather than a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

BIN = Path(os.environ.get("REGENZET_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(*args: str) -> list[str]:
    """The server refuses to run as root; as root, run it as the postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


class PrivateCluster:
    def __init__(self, port: int) -> None:
        if not (BIN / "initdb").exists():
            message = f"no Postgres server binaries in {BIN} (set REGENZET_PG_BIN)"
            if os.environ.get("REGENZET_REQUIRE_POSTGRES") == "1":
                pytest.fail(message)
            pytest.skip(message)
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="regenzet-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self._run(BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres(*map(str, args)),
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=on"
            " -c max_connections=60"
        )
        self._run(BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")

    def stop_immediately(self) -> None:
        """Like ``pg_ctlcluster … stop -m immediate``: no checkpoint, clients cut off."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def destroy(self) -> None:
        if self.data.exists():
            self.stop_immediately()
        shutil.rmtree(self.root, ignore_errors=True)
