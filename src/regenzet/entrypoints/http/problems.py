"""The one place that turns exceptions into RFC 9457 problem details, plus request ids and
structured error logs.

Every error response is ``application/problem+json`` with a stable ``type``, the status, a
human ``detail`` and the request id; validation problems name the failing field, rule
violations the rule, state-machine refusals the current state. Nothing else leaves the process:
no stack trace, SQL, connection string or token. What happened in full goes to the log, as one
JSON line carrying the same request id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Message, Scope

from regenzet.application.errors import (
    ConcurrencyConflictError,
    DuplicateError,
    NotFoundError,
    StoreUnavailableError,
    VersionMismatchError,
)
from regenzet.application.identity import (
    AUTHENTICATION_FAILED,
    AuthenticationError,
    IdentityUnavailableError,
)
from regenzet.application.media import (
    MediaObjectChangedError,
    TicketRefusedError,
    UploadRefusedError,
    UploadTooLargeError,
)
from regenzet.application.media_confirm import (
    ConfirmsBusyError,
    MediaRefusedError,
    UploadMissingError,
)
from regenzet.domain.common import DomainValidationError, InvalidStateError, RuleViolationError
from regenzet.entrypoints.http.schemas import FieldProblem, Problem

logger = logging.getLogger("regenzet.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://regenzet.dev/problems/"
REQUEST_ID_HEADER = "x-request-id"
# Bodies are small JSON documents; anything bigger is refused before it is read (413).
MAX_REQUEST_BODY = 256 * 1024
# Seconds a client should wait before retrying after the database was unavailable.
UNAVAILABLE_RETRY_AFTER = 5
# A confirm refused because the process's decode turns are all taken (ConfirmsBusyError).
BUSY_RETRY_AFTER = 2

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")


class ApiError(Exception):
    """An error the HTTP layer itself raises (a malformed header, a reused key...)."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def request_id(scope: Scope) -> str:
    """The request's id: the caller's ``X-Request-ID`` when it is sane, else a new UUID.

    Computed once and kept in the scope's state so the response header, the problem body and
    the log line agree.
    """
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        raw = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                raw = value.decode("latin-1")
                break
        rid = raw if _REQUEST_ID.match(raw) else uuid.uuid4().hex
        state["request_id"] = rid
    return str(rid)


async def add_request_id(message: Message, scope: Scope) -> None:
    """``before_send`` hook: every HTTP response carries ``X-Request-ID``."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id(scope)


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_INVALID_ENUM = re.compile(r"^Invalid enum value")


def _json_path(key: str) -> str:
    """Litestar's dotted location (``labour.0.hours``) as the client's JSON path
    (``labour[0].hours``)."""
    path = ""
    for part in key.split("."):
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path


def _field_problems(
    exc: ValidationException, request: Request[Any, Any, Any] | None = None
) -> list[FieldProblem]:
    problems = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        source = item.get("source")
        at_path = _AT_PATH.search(message)
        # The body parameter's own name ("data") is ours, not the client's: the body's root.
        body_path = "" if key == "data" else _json_path(str(key or ""))
        if at_path and at_path.group(1):
            key = at_path.group(1)
        elif source == "body" and (
            named := _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
        ):
            key = f"{body_path}.{named.group(1)}" if body_path else named.group(1)
        elif source == "body" and key == "data" and message == "'data'":
            key = None
            message = "a JSON object body is required (send {} when no field applies)"
        elif source == "body":
            key = body_path or None
        elif source == "header" and isinstance(key, str):
            # Name the header the client sent, not our parameter: if_match -> If-Match.
            key = "-".join(part.capitalize() for part in key.split("_"))
        if _INVALID_ENUM.match(message) and request is not None and isinstance(key, str):
            allowed = allowed_values(request, source, key)
            if allowed:
                message = f"{message}; allowed: {', '.join(allowed)}"
        problems.append(
            FieldProblem(field=str(key) if key else None, source=source, message=message)
        )
    return problems


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def allowed_values(request: Request[Any, Any, Any], source: Any, field: str) -> list[str]:
    """The values an enum-typed field accepts, read from the handler's own parameter types
    (a body field by its JSON path, a query, path or header parameter by name)."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    path: list[str | int] = [
        name if name else int(index) for name, index in _PATH_PART.findall(field)
    ]
    if source == "body":
        definition = parameters.get("data")
    else:
        definition = next(
            (
                d
                for name, d in parameters.items()
                if name == field or getattr(d.kwarg_definition, "query", None) == field
            ),
            None,
        )
        path = []
    if definition is None:
        return []
    try:
        info: Any = msgspec.inspect.type_info(definition.annotation)
    except (TypeError, ValueError):
        return []
    for part in path:
        info = _step(info, part)
        if info is None:
            return []
    return _choices(info)


def _unwrap(info: Any) -> list[Any]:
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    if isinstance(info, msgspec.inspect.UnionType):
        return [t for member in info.types for t in _unwrap(member)]
    return [info]


def _step(info: Any, part: str | int) -> Any:
    for member in _unwrap(info):
        if isinstance(part, int) and isinstance(member, msgspec.inspect.ListType):
            return member.item_type
        if isinstance(part, str) and isinstance(member, msgspec.inspect.StructType):
            for field in member.fields:
                if field.encode_name == part:
                    return field.type
    return None


def _choices(info: Any) -> list[str]:
    values: list[str] = []
    for member in _unwrap(info):
        if isinstance(member, msgspec.inspect.EnumType):
            values += [str(m.value) for m in member.cls]
        elif isinstance(member, msgspec.inspect.LiteralType):
            values += [str(v) for v in member.values]
    return values


def to_problem(
    exc: Exception, request: Request[Any, Any, Any] | None = None
) -> tuple[Problem, dict[str, str]]:
    """Maps an exception to its problem body and extra headers (the single mapping table)."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        return (
            Problem(
                type=PROBLEM_BASE + exc.kind,
                title=TITLES.get(exc.status, "Error"),
                status=exc.status,
                detail=exc.detail,
                field=exc.field,
            ),
            exc.headers,
        )
    if isinstance(exc, AuthenticationError):
        return _simple(401, "unauthorized", AUTHENTICATION_FAILED), {
            "WWW-Authenticate": 'Bearer error="invalid_token"'
        }
    if isinstance(exc, IdentityUnavailableError):
        return _simple(503, "unavailable", str(exc)), {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}
    if isinstance(exc, NotFoundError):
        return _simple(404, "not-found", str(exc)), headers
    if isinstance(exc, DomainValidationError):
        problem = _simple(422, "validation", exc.message)
        problem.field = exc.field
        return problem, headers
    if isinstance(exc, InvalidStateError):
        problem = _simple(409, "invalid-state", str(exc))
        problem.rule = exc.rule
        problem.current_state = exc.current_state
        return problem, headers
    if isinstance(exc, RuleViolationError):
        problem = _simple(409, "rule-violation", exc.message)
        problem.rule = exc.rule
        return problem, headers
    if isinstance(exc, VersionMismatchError):
        return _simple(412, "version-mismatch", str(exc)), {"ETag": etag(exc.actual)}
    if isinstance(exc, ConcurrencyConflictError):
        return _simple(409, "concurrent-change", str(exc)), headers
    if isinstance(exc, DuplicateError):
        problem = _simple(409, "duplicate", str(exc))
        problem.rule = "unique"
        return problem, headers
    if isinstance(exc, MediaRefusedError):
        problem = _simple(422, "media-refused", exc.detail)
        problem.rule = exc.reason
        return problem, headers
    if isinstance(exc, UploadMissingError):
        problem = _simple(409, "upload-missing", str(exc))
        problem.rule = "upload_missing"
        return problem, headers
    if isinstance(exc, TicketRefusedError):
        return _simple(403, "ticket-refused", str(exc)), headers
    if isinstance(exc, UploadTooLargeError):
        return _simple(413, "upload-too-large", str(exc)), headers
    if isinstance(exc, UploadRefusedError):
        return _simple(422, "upload-refused", str(exc)), headers
    if isinstance(exc, MediaObjectChangedError):
        # The adapter's message names the storage key, which is not the client's business.
        detail = "the uploaded file changed since it was checked; confirm again to check it"
        return _simple(409, "upload-changed", detail), headers
    if isinstance(exc, ConfirmsBusyError):
        # Busy, not broken: a turn frees up within a decode (a fraction of a second to ~2 s),
        # and the web app confirms again by itself after Retry-After.
        return _simple(503, "unavailable", str(exc)), {"Retry-After": str(BUSY_RETRY_AFTER)}
    if isinstance(exc, StoreUnavailableError):
        retry = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}
        return _simple(503, "unavailable", "the database is unavailable; retry shortly"), retry
    if isinstance(exc, ValidationException):
        problem = _simple(400, "invalid-request", "the request does not match the API schema")
        problem.errors = _field_problems(exc, request)
        if problem.errors and problem.errors[0].field:
            problem.field = problem.errors[0].field
        return problem, headers
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if status < 500 else TITLES.get(status, "Error")
        if status == 413:
            detail = f"the request body is larger than the limit of {MAX_REQUEST_BODY} bytes"
        kind = {
            400: "invalid-request",
            401: "unauthorized",
            403: "forbidden",
            404: "not-found",
            429: "rate-limited",
        }
        return _simple(status, kind.get(status, "http-error"), detail), dict(exc.headers or {})
    return _simple(500, "internal", "an unexpected error occurred"), headers


def _simple(status: int, kind: str, detail: str) -> Problem:
    return Problem(
        type=PROBLEM_BASE + kind, title=TITLES.get(status, "Error"), status=status, detail=detail
    )


def etag(version: int) -> str:
    return f'"{version}"'


def problem_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for every exception type."""
    problem, headers = to_problem(exc, request)
    rid = request_id(request.scope)
    problem.request_id = rid
    problem.instance = f"urn:request:{rid}"
    _log(request, exc, problem)
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _log(request: Request[Any, Any, Any], exc: Exception, problem: Problem) -> None:
    record: dict[str, Any] = {
        "event": "request_failed",
        "request_id": problem.request_id,
        "method": request.method,
        "path": request.url.path,
        "status": problem.status,
        "problem": problem.type.removeprefix(PROBLEM_BASE),
        "error": type(exc).__name__,
    }
    if problem.status >= 500 and isinstance(exc, (ApiError, ConfirmsBusyError)):
        # A 5xx we answer on purpose (a read model still catching up, every decode turn taken):
        # the detail says it all,
        # and a traceback would only look like a crash to whoever reads the log.
        record["detail"] = problem.detail
        logger.warning(json.dumps(record), extra={"json": record})
    elif problem.status >= 500:
        # The full story (including the exception text) goes to the log only.
        logger.error(json.dumps(record), exc_info=exc, extra={"json": record})
    else:
        logger.info(json.dumps(record), extra={"json": record})


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line (CloudWatch and any log shipper parse it without rules)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = getattr(record, "json", None) or {"message": record.getMessage()}
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            **data,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def refuse_null_query_values(request: Request[Any, Any, Any]) -> None:
    """A query parameter is a value or absent, never null (as the OpenAPI document says).

    Litestar reads ``?active=null`` as ``None`` for an optional parameter, which would make
    ``null`` a silent "no filter". For every parameter whose type has no string form that
    could be spelled ``null`` (booleans, numbers, enums and literals), the literal is a 400
    naming the parameter; a free-text parameter keeps ``null`` as the text it is.
    """
    nulls = [name for name, value in request.query_params.multi_items() if value == "null"]
    if not nulls:
        return
    refusing = _null_refusing_parameters(request.route_handler)
    for name in nulls:
        if name in refusing:
            raise ValidationException(
                detail="the request does not match the API schema",
                extra=[
                    {
                        "key": name,
                        "source": "query",
                        "message": "null is not a value of this parameter: leave it out instead",
                    }
                ],
            )


def _null_refusing_parameters(handler: Any) -> set[str]:
    names: set[str] = set()
    for name, definition in handler.parsed_fn_signature.parameters.items():
        kwarg = definition.kwarg_definition
        if kwarg is not None and (getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None)):
            continue
        try:
            info: Any = msgspec.inspect.type_info(definition.annotation)
        except (TypeError, ValueError):
            continue
        members = [m for m in _unwrap(info) if not isinstance(m, msgspec.inspect.NoneType)]
        if len(members) == len(_unwrap(info)):
            continue  # not optional: Litestar itself refuses "null" for a required value
        if members and not any(
            isinstance(m, msgspec.inspect.StrType)
            or (isinstance(m, msgspec.inspect.LiteralType) and "null" in m.values)
            for m in members
        ):
            names.add(getattr(kwarg, "query", None) or name)
    return names
