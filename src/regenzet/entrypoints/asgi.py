"""The ASGI process entry: uvicorn's ``--factory regenzet.entrypoints.asgi:app_from_env``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regenzet.entrypoints.bootstrap import Bootstrap

if TYPE_CHECKING:
    from litestar import Litestar


def app_from_env() -> Litestar:
    """Builds the app from the environment, through the bootstrap."""
    return Bootstrap.from_env().http_app()


__all__ = ["app_from_env"]
