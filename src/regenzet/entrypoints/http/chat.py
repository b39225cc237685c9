"""``POST /api/v1/chat``: the assistant, as server-sent events or one JSON answer.

SSE when the client sends ``Accept: text/event-stream`` (or ``"stream": true``), otherwise a
JSON document. The first model round runs before the response starts, so a model that is
unavailable is a plain 503 problem with ``Retry-After``; a failure after the stream began is
an ``error`` event. Questions are rate-limited per subject on top of the API's own limit.
``GET /api/v1/chat/turns`` lists the caller's own recorded turns (transcripts belong to their
author).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response, ServerSentEvent
from msgspec import Meta

from regenzet.application.chat import (
    AnswerDelta,
    Assistant,
    ChatEvent,
    ChatInputError,
    ChatModelUnavailableError,
    HistoryItem,
    ToolRan,
    TurnDone,
)
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.routing import (
    API_PREFIX,
    Caller,
    HttpServices,
    Services,
    problems,
)
from regenzet.entrypoints.http.schemas import Body

logger = logging.getLogger("regenzet.chat")


class ChatHistoryIn(Body, kw_only=True):
    role: Literal["user", "assistant"]
    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class ChatIn(Body, kw_only=True):
    message: Annotated[str, Meta(min_length=1, max_length=2000)]
    # Earlier text of the conversation (never tool calls or results: only the loop makes those).
    history: Annotated[list[ChatHistoryIn], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    stream: bool = False


class ToolRanOut(msgspec.Struct, kw_only=True):
    name: str
    status: str
    record_ids: list[str]


class ChatAnswer(msgspec.Struct, kw_only=True):
    turn_id: str
    answer: str
    notice: str | None
    stop_reason: str
    tool_rounds: int
    tools: list[ToolRanOut]
    records: list[str]
    input_tokens: int
    output_tokens: int


class ChatTurnsPage(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _tool(event: ToolRan) -> ToolRanOut:
    return ToolRanOut(name=event.name, status=event.status, record_ids=list(event.record_ids))


def _answer(done: TurnDone, tools: list[ToolRan]) -> ChatAnswer:
    return ChatAnswer(
        turn_id=done.turn_id,
        answer=done.answer,
        notice=done.notice,
        stop_reason=done.stop_reason,
        tool_rounds=done.tool_rounds,
        tools=[_tool(t) for t in tools],
        records=list(done.records),
        input_tokens=done.input_tokens,
        output_tokens=done.output_tokens,
    )


def _assistant(services: HttpServices) -> Assistant:
    assistant = services.assistant
    if assistant is None:
        raise ApiError(503, "unavailable", "the assistant is not running here")
    return assistant


def _unavailable(error: ChatModelUnavailableError) -> ApiError:
    return ApiError(
        503, "assistant-unavailable", str(error), headers={"Retry-After": str(error.retry_after)}
    )


def _sse(first: ChatEvent, rest: Iterator[ChatEvent]) -> Iterator[dict[str, Any]]:
    tools: list[ToolRan] = []
    try:
        for event in itertools.chain([first], rest):
            if isinstance(event, AnswerDelta):
                yield {"event": "delta", "data": json.dumps({"text": event.text})}
            elif isinstance(event, ToolRan):
                tools.append(event)
                yield {"event": "tool", "data": msgspec.json.encode(_tool(event)).decode()}
            else:
                answer = _answer(event, tools)
                yield {"event": "done", "data": msgspec.json.encode(answer).decode()}
    except ChatModelUnavailableError as error:
        yield {
            "event": "error",
            "data": json.dumps(
                {"status": 503, "type": "assistant-unavailable", "detail": str(error)}
            ),
        }
    except Exception:
        logger.exception("the assistant failed mid-stream")
        yield {
            "event": "error",
            "data": json.dumps({"status": 500, "type": "internal", "detail": "the answer failed"}),
        }


class _EventStream(ServerSentEvent):
    """Server-sent events whose media type survives a handler that also answers JSON
    (Litestar otherwise prefers the handler's media type over the response's)."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = "text/event-stream"
        return super().to_asgi_response(*args, **kwargs)


CHAT_PROBLEMS = problems(400, 401, 403, 422, 429, 503)


class ChatController(Controller):
    path = API_PREFIX + "/chat"
    tags = ["assistant"]

    @post(
        "",
        operation_id="chat",
        summary="Ask the assistant (SSE with Accept: text/event-stream, else JSON)",
        description=(
            "Answers from the garage's records as the caller: the assistant's tools run with "
            "the caller's token and the API's own checks. SSE events: `tool` "
            "({name, status, record_ids}), `delta` ({text}), then `done` (the ChatAnswer) or "
            "`error` ({status, type, detail})."
        ),
        sync_to_thread=True,
        status_code=200,
        responses=CHAT_PROBLEMS,
    )
    def ask(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ChatIn],
        services: Services,
        principal: Caller,
    ) -> Any:
        limiter = services.chat_limiter
        if limiter is not None:
            wait = limiter.acquire(principal.subject)
            if wait:
                raise ApiError(
                    429,
                    "rate-limited",
                    "too many questions; slow down",
                    headers={"Retry-After": str(max(1, int(wait + 0.999)))},
                )
        assistant = _assistant(services)
        history = [HistoryItem(h.role, h.text) for h in data.history]
        events = assistant.ask(principal, data.message, history)
        try:
            first = next(events)
        except ChatInputError as error:
            raise ApiError(422, "validation", str(error), field=error.field) from None
        except ChatModelUnavailableError as error:
            raise _unavailable(error) from None
        streaming = data.stream or "text/event-stream" in request.headers.get("accept", "")
        if streaming:
            return _EventStream(
                _sse(first, events),
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        tools: list[ToolRan] = []
        try:
            for event in itertools.chain([first], events):
                if isinstance(event, ToolRan):
                    tools.append(event)
                elif isinstance(event, TurnDone):
                    return Response(_answer(event, tools), headers={"Cache-Control": "no-store"})
        except ChatModelUnavailableError as error:
            raise _unavailable(error) from None
        raise ApiError(503, "assistant-unavailable", "the assistant ended without an answer")

    @get(
        "/turns",
        operation_id="listChatTurns",
        summary="The caller's own recorded assistant turns, oldest first",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 422, 429, 503),
    )
    def turns(
        self,
        services: Services,
        principal: Caller,
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> ChatTurnsPage:
        log = services.chat_turns
        if log is None:
            raise ApiError(503, "unavailable", "the assistant is not running here")
        try:
            items, next_cursor = log.list_own(principal, after=cursor, limit=limit)
        except ValueError:
            raise ApiError(
                422, "invalid-cursor", "cursor is not one this API returned", field="cursor"
            ) from None
        return ChatTurnsPage(items=items, next_cursor=next_cursor)


def document_event_stream(openapi: Any) -> None:
    """Adds the SSE body to the ``chat`` operation's 200 response (Litestar documents one
    media type per status; this route answers JSON or ``text/event-stream``)."""
    from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema

    for path_item in (openapi.paths or {}).values():
        operation = path_item.post
        if operation is None or operation.operation_id != "chat" or not operation.responses:
            continue
        ok = operation.responses.get("200")
        if not isinstance(ok, OpenAPIResponse):
            continue
        ok.content = dict(ok.content or {})
        ok.content["text/event-stream"] = OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                description=(
                    "One server-sent event: `tool` {name, status, record_ids}, `delta` {text}, "
                    "then `done` (a ChatAnswer) or `error` {status, type, detail}; `data` is "
                    "that JSON document."
                ),
                properties={
                    "event": Schema(
                        type=OpenAPIType.STRING, enum=["tool", "delta", "done", "error"]
                    ),
                    "data": Schema(type=OpenAPIType.STRING),
                },
                required=["event", "data"],
            )
        )
