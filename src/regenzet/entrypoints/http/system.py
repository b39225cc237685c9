"""Liveness, readiness, who-am-I and the per-aggregate history for auditors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get
from litestar.params import FromPath

from regenzet.application.views import HistoryEntry
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
    services.workshop.recorder.max_notification_id()
    return Health(status="ready")


class History(msgspec.Struct, kw_only=True):
    aggregate_id: UUID
    events: list[HistoryEntry]


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

    @query(
        "/audit/aggregates/{aggregate_id:uuid}/events",
        "getAggregateHistory",
        "Every event of one aggregate, in order, with actor and time",
    )
    def history(self, aggregate_id: FromPath[UUID], services: Services) -> Response[History]:
        events = services.workshop.get_history(aggregate_id)
        return Response(
            History(aggregate_id=aggregate_id, events=events),
            headers={"ETag": f'"{events[-1].version}"'},
        )


__all__: list[Any] = ["SystemController", "health", "ready"]
