"""Shared pieces of the controllers: the services a handler can reach, route decorators with
the API's conventions, and read responses with their ``ETag``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from litestar import Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation

from regenzet.application.access import ObjectAccess
from regenzet.application.audit import Verifier
from regenzet.application.chat import Assistant, ChatTurnLog
from regenzet.application.idempotency import IdempotencyStore
from regenzet.application.identity import Principal
from regenzet.application.media import MediaStorage
from regenzet.application.media_use_cases import IssuedUpload
from regenzet.application.ports import Clock
from regenzet.application.projections import ReadModelStore
from regenzet.application.quote_approval import QuoteApprovals
from regenzet.application.workshop import Receipt, Workshop
from regenzet.domain.media import Shape
from regenzet.entrypoints.http.media_files import SignedMediaFiles
from regenzet.entrypoints.http.problems import etag
from regenzet.entrypoints.http.schemas import (
    AnnotateMedia,
    MediaUploadTicket,
    Problem,
    UploadForm,
)
from regenzet.entrypoints.http.security import Gatekeeper, RateLimiter, principal_of
from regenzet.entrypoints.http.writes import IdempotencyKeyHeader, IfMatchHeader, Writes

API_PREFIX = "/api/v1"

F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen
class HttpServices:
    """Everything the handlers use, built by the composition root."""

    workshop: Workshop
    access: ObjectAccess
    idempotency: IdempotencyStore
    clock: Clock
    gatekeeper: Gatekeeper
    # Raises an infrastructure error unless the store answers quickly (GET /ready).
    ready: Callable[[], None]
    read_models: ReadModelStore | None = None
    audit: Verifier | None = None
    quote_approvals: QuoteApprovals | None = None
    # The assistant (POST /chat), its recorded turns and its per-subject question budget.
    assistant: Assistant | None = None
    chat_turns: ChatTurnLog | None = None
    chat_limiter: RateLimiter | None = None
    # Where media live; and, when that is the local disk, what the signed upload and download
    # routes call (mounted only then: S3 serves its own).
    media: MediaStorage | None = None
    media_files: SignedMediaFiles | None = None


_DESCRIPTIONS = {
    400: "The request does not match the schema (the failing field is named).",
    401: "Missing, invalid or expired bearer token.",
    403: "The caller's role may not perform this operation.",
    404: "No such record, or not one the caller may see.",
    409: "A business rule, the current state or a concurrent change refused the write.",
    412: "If-Match names a version the record has moved past.",
    422: "A value is out of its allowed range, or an Idempotency-Key was reused.",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The database is unavailable; see Retry-After.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
        )
        for status in statuses
    }


READ_PROBLEMS = problems(400, 401, 403, 404, 429, 503)
WRITE_PROBLEMS = problems(400, 401, 403, 404, 409, 412, 422, 429, 503)
ETAG_HEADER = [
    ResponseHeader(
        name="ETag", description="The record's version, for If-Match.", documentation_only=True
    )
]


def command(
    path: str, operation_id: str, summary: str, *, create: bool = False, method: str = "POST"
) -> Callable[[F], Any]:
    """A write route: synchronous (the event store blocks), documented problems and headers."""
    decorator = {"POST": post, "PUT": put, "DELETE": delete}[method]
    return decorator(
        path,
        operation_id=operation_id,
        summary=summary,
        sync_to_thread=True,
        status_code=201 if create else 200,
        responses=WRITE_PROBLEMS,
        response_headers=ETAG_HEADER,
    )


def query(
    path: str,
    operation_id: str,
    summary: str,
    *,
    problems: dict[int, ResponseSpec] | None = None,
) -> Callable[[F], Any]:
    """A read route returning one record with its ``ETag``."""
    return get(
        path,
        operation_id=operation_id,
        summary=summary,
        sync_to_thread=True,
        responses=problems or READ_PROBLEMS,
        response_headers=ETAG_HEADER,
    )


V = TypeVar("V")


def viewed(view: V, version: int) -> Response[V]:
    return Response(content=view, headers={"ETag": etag(version)})


def media_query(path: str, operation_id: str, summary: str) -> Callable[[F], Any]:
    """A read of media: its URLs are minted for this caller and this request, so the
    response is never cached or shared."""
    return get(
        path,
        operation_id=operation_id,
        summary=summary,
        description=(
            "URLs are minted for the caller on every request and expire after "
            "REGENZET_MEDIA_URL_SECONDS (300 s by default); the auditor gets every URL null."
        ),
        sync_to_thread=True,
        responses=READ_PROBLEMS,
    )


def fresh(view: V) -> Response[V]:
    return Response(content=view, headers={"Cache-Control": "private, no-store"})


def upload_ticket(owner_kind: str) -> Callable[[Receipt], MediaUploadTicket]:
    """Renders an upload request's receipt as its ticket (also what a keyed retry replays)."""

    def render(receipt: Receipt) -> MediaUploadTicket:
        issued = receipt.result
        if not isinstance(issued, IssuedUpload):
            raise TypeError("an upload request's use case returns its ticket")
        ticket = issued.ticket
        return MediaUploadTicket(
            media_id=issued.media_id,
            upload=UploadForm(url=ticket.url, fields=ticket.fields, expires_at=ticket.expires_at),
            confirm_path=(
                f"{API_PREFIX}/{owner_kind}/{receipt.id}/media/{issued.media_id}/confirm"
            ),
            id=receipt.id,
            version=receipt.version,
            position=receipt.position,
        )

    return render


def shapes_of(data: AnnotateMedia) -> list[Shape]:
    """The request's shapes as the domain's JSON-native dicts."""
    return [
        Shape(
            kind=s.kind,
            points=[[float(x), float(y)] for x, y in s.points],
            colour=s.colour,
            label=s.label,
        )
        for s in data.shapes
    ]


def provide_writes(
    request: Request[Any, Any, Any],
    services: NamedDependency[SkipValidation[HttpServices]],
    idempotency_key: IdempotencyKeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Writes:
    return Writes(
        request,
        services.idempotency,
        services.clock,
        idempotency_key,
        if_match,
        services.workshop,
    )


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request.scope)


# Handler parameters injected by name. Litestar would otherwise try to validate (and so
# convert) these service objects as if they were request data.
Services = NamedDependency[SkipValidation[HttpServices]]
WritesDep = NamedDependency[SkipValidation[Writes]]
Caller = NamedDependency[SkipValidation[Principal]]
