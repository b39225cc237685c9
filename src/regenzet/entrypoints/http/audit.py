"""Audit routes (auditors and managers): the global log, an aggregate's history, its state at a
version or a past time, a diff between versions, and verification of the hash chain."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import attrs
import msgspec
from litestar import Controller, Response
from litestar.params import FromPath, QueryParameter

from regenzet.application.audit import Verifier
from regenzet.application.history import AuditHistory, LogFilter
from regenzet.application.views import HistoryEntry, plain
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.routing import API_PREFIX, READ_PROBLEMS, Services, problems, query

AUDIT_PROBLEMS = {**READ_PROBLEMS, **problems(422)}

# Ids and versions up to 2**53: exact as a JSON number everywhere (Litestar writes the bound
# of a required parameter as a float, and 2**62 does not survive that).
MAX_ID = 2**53

# One verification at a time per process: it reads the whole log, and a burst of requests
# must not multiply that work.
_VERIFYING = threading.Lock()


class History(msgspec.Struct, kw_only=True):
    aggregate_id: UUID
    events: list[HistoryEntry]


class LogItem(msgspec.Struct, kw_only=True):
    notification_id: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    timestamp: datetime
    event_type: str
    actor: dict[str, Any] | None
    data: dict[str, Any]


class LogPageOut(msgspec.Struct, kw_only=True):
    items: list[LogItem]
    next_after: int | None


class AggregateStateOut(msgspec.Struct, kw_only=True):
    aggregate_id: UUID
    aggregate_type: str
    version: int
    created_on: datetime
    modified_on: datetime
    state: dict[str, Any]


class ChangeOut(msgspec.Struct, kw_only=True):
    op: str
    path: str
    value: Any = None
    old: Any = None


class DiffOut(msgspec.Struct, kw_only=True):
    aggregate_id: UUID
    aggregate_type: str
    from_version: int
    to_version: int
    changes: list[ChangeOut]
    events: list[HistoryEntry]


class VerificationOut(msgspec.Struct, kw_only=True):
    intact: bool
    first_broken_id: int | None
    reason: str | None
    started_after: int
    events_verified: int
    checkpoints_verified: int
    chain_head: int
    log_head: int
    summary: str


class CheckpointOut(msgspec.Struct, kw_only=True):
    notification_id: int
    events: int
    link: str
    created_at: datetime
    key_id: str
    algorithm: str
    signature_b64: str
    message: str


class CheckpointsOut(msgspec.Struct, kw_only=True):
    algorithm: str
    key_id: str
    public_key_pem: str
    checkpoints: list[CheckpointOut]


def _verifier(services: Any) -> Verifier:
    verifier: Verifier | None = services.audit
    if verifier is None or verifier.signer is None:
        raise ApiError(503, "unavailable", "the audit chain is not configured here")
    return verifier


class AuditController(Controller):
    path = f"{API_PREFIX}/audit"
    tags = ["audit"]

    @query(
        "/events",
        "getAuditLog",
        "The global event log in order, filtered; follow next_after until it is null",
        problems=AUDIT_PROBLEMS,
    )
    def log(
        self,
        services: Services,
        after: Annotated[
            int, QueryParameter(ge=0, le=MAX_ID, description="Continue after this notification id")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        aggregate_type: Annotated[
            str | None, QueryParameter(min_length=1, max_length=60, pattern=r"^[A-Za-z]+$")
        ] = None,
        event_type: Annotated[
            str | None, QueryParameter(min_length=1, max_length=60, pattern=r"^[A-Za-z]+$")
        ] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="Recorded at or after (with offset)")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Recorded before (with offset)")
        ] = None,
        actor: Annotated[
            str | None, QueryParameter(min_length=1, max_length=255, description="Subject id")
        ] = None,
    ) -> LogPageOut:
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise ApiError(422, "validation", "must include a UTC offset", field=name)
        page = AuditHistory(services.workshop).log(
            after,
            limit,
            LogFilter(
                aggregate_type=aggregate_type,
                event_type=event_type,
                since=since,
                until=until,
                actor=actor,
            ),
        )
        return LogPageOut(
            items=[
                LogItem(
                    **{
                        **attrs.asdict(item, recurse=False),
                        "actor": plain(item.actor) if item.actor is not None else None,
                    }
                )
                for item in page.items
            ],
            next_after=page.next_after,
        )

    @query(
        "/aggregates/{aggregate_id:uuid}/events",
        "getAggregateHistory",
        "Every event of one aggregate, in order, with actor and time",
    )
    def history(self, aggregate_id: FromPath[UUID], services: Services) -> Response[History]:
        events = services.workshop.get_history(aggregate_id)
        return Response(
            History(aggregate_id=aggregate_id, events=events),
            headers={"ETag": f'"{events[-1].version}"'},
        )

    @query(
        "/aggregates/{aggregate_id:uuid}/state",
        "getAggregateState",
        "An aggregate's state at a version, or as of a past time (the current state by default)",
        problems=AUDIT_PROBLEMS,
    )
    def state(
        self,
        aggregate_id: FromPath[UUID],
        services: Services,
        version: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
        at: Annotated[
            datetime | None,
            QueryParameter(description="As of this instant (ISO 8601 with offset)"),
        ] = None,
    ) -> AggregateStateOut:
        state = AuditHistory(services.workshop).state(aggregate_id, version=version, at=at)
        return AggregateStateOut(**attrs.asdict(state, recurse=False))

    @query(
        "/aggregates/{aggregate_id:uuid}/diff",
        "getAggregateDiff",
        "What changed between two versions (RFC 6902 operations with the old values)",
        problems=AUDIT_PROBLEMS,
    )
    def diff(
        self,
        aggregate_id: FromPath[UUID],
        services: Services,
        from_version: Annotated[int, QueryParameter(name="from", ge=1, le=MAX_ID)],
        to_version: Annotated[int, QueryParameter(name="to", ge=1, le=MAX_ID)],
    ) -> DiffOut:
        result = AuditHistory(services.workshop).diff(aggregate_id, from_version, to_version)
        return DiffOut(
            aggregate_id=result.aggregate_id,
            aggregate_type=result.aggregate_type,
            from_version=result.from_version,
            to_version=result.to_version,
            changes=[
                ChangeOut(op=c.op, path=c.path, value=c.value, old=c.old) for c in result.changes
            ],
            events=result.events,
        )

    @query(
        "/verification",
        "getAuditVerification",
        "Recompute the hash chain and check every signed checkpoint (the first broken id)",
        problems=AUDIT_PROBLEMS,
    )
    def verification(
        self,
        services: Services,
        start: Annotated[
            int | None,
            QueryParameter(name="from", ge=1, le=MAX_ID, description="Start at this id"),
        ] = None,
    ) -> VerificationOut:
        verifier = _verifier(services)
        with _VERIFYING:
            report = verifier.verify(start)
        return VerificationOut(**attrs.asdict(report), summary=report.summary())

    @query(
        "/checkpoints",
        "getAuditCheckpoints",
        "The signed checkpoints and the public key that verifies them",
    )
    def checkpoints(self, services: Services) -> CheckpointsOut:
        import base64

        verifier = _verifier(services)
        signer = verifier.signer
        assert signer is not None  # checked by _verifier  # noqa: S101
        return CheckpointsOut(
            algorithm=signer.algorithm,
            key_id=signer.key_id,
            public_key_pem=signer.public_key_pem(),
            checkpoints=[
                CheckpointOut(
                    notification_id=c.notification_id,
                    events=c.events,
                    link=c.link.hex(),
                    created_at=c.created_at,
                    key_id=c.key_id,
                    algorithm=c.algorithm,
                    signature_b64=base64.b64encode(c.signature).decode("ascii"),
                    message=c.message().decode(),
                )
                for c in verifier.store.checkpoints()
            ],
        )


__all__ = ["AuditController"]
