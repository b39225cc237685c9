"""Fixtures of the crash suite: the demo garage's API on Postgres behind a loopback proxy that
can lose a commit's acknowledgement or cut the database off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..conftest import postgres_store_env
from ..http.conftest import Api, build_api
from .pgproxy import PgProxy


@pytest.fixture
def proxied(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Api, PgProxy]]:
    monkeypatch.setenv("PGSSLMODE", "disable")  # the proxy reads the protocol
    parts = urlsplit(postgres_dsn)
    proxy = PgProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    url = f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"
    apis = build_api(tmp_path, postgres_store_env(url, postgres_schema))
    try:
        yield next(apis), proxy
    finally:
        proxy.up()
        apis.close()
        proxy.close()
