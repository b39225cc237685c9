"""Liveness, readiness and who-am-I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from regenzet.entrypoints.http.routing import API_PREFIX, READ_PROBLEMS, Caller, Services, query
from regenzet.entrypoints.http.schemas import Health, Me


@get(
    "/health",
    operation_id="health",
    summary="The process is alive",
    sync_to_thread=False,
    security=[{}],
    tags=["operations"],
)
def health() -> Health:
    return Health(status="ok")


@get(
    "/ready",
    operation_id="ready",
    summary="The event store is reachable (503 otherwise)",
    sync_to_thread=True,
    security=[{}],
    tags=["operations"],
    responses={503: READ_PROBLEMS[503]},
)
def ready(services: Services) -> Health:
    services.ready()
    return Health(status="ready")


class SystemController(Controller):
    path = API_PREFIX
    tags = ["identity", "audit"]

    @query("/me", "whoAmI", "The caller as the API sees them")
    def me(self, principal: Caller) -> Me:
        return Me(
            subject=principal.subject,
            role=principal.role,
            customer_id=principal.customer_id,
            staff_id=principal.staff_id,
        )


__all__: list[Any] = ["SystemController", "health", "ready"]
