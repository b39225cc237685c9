"""Amazon Bedrock behind the ``ChatModel`` port: Converse and ConverseStream (boto3
``bedrock-runtime``), and ApplyGuardrail for free text inside tool results.

The adapter only translates: the loop's messages and tool specs into Converse's shapes, and
Converse's answer (or ConverseStream's events) back into the port's events. It never runs a
tool. Throttling, model timeouts and 5xx are retried with exponential backoff and jitter;
when the model stays unavailable it raises ``ChatModelUnavailableError`` (HTTP 503).
A guardrail on Converse does not evaluate tool results, so the loop calls
:class:`BedrockGuardrailScreen` on the free text they carry (ADR 0027).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, get_args

import attrs
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from regenzet.application.chat import (
    ChatModelUnavailableError,
    Message,
    ModelEvent,
    ModelFinished,
    ModelRequest,
    StopReason,
    TextDelta,
    ToolCall,
    ToolCallRequested,
)

logger = logging.getLogger("regenzet.chat.bedrock")

# Worth another attempt: the service asks us to slow down, or it is briefly unwell.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "ServiceUnavailableException",
        "InternalServerException",
    }
)
RETRYABLE_ERRORS = (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError)

_STOP_REASONS = frozenset(get_args(StopReason))

# Exception events ConverseStream can send in place of data.
_STREAM_ERRORS = (
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "serviceUnavailableException",
)


@attrs.frozen
class GuardrailRef:
    identifier: str
    version: str


@attrs.frozen
class Backoff:
    """Exponential backoff with full jitter: attempt n waits up to base * 2**n seconds."""

    max_attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * 2**attempt) * self.jitter())

    def call(self, what: str, operation: Callable[..., Any], **params: Any) -> Any:
        for attempt in range(self.max_attempts):
            try:
                return operation(**params)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code not in RETRYABLE_CODES:
                    logger.error("bedrock %s refused: %s", what, code)
                    raise ChatModelUnavailableError(
                        f"the assistant's model refused the request ({code})", retry_after=30
                    ) from error
                reason = code
            except RETRYABLE_ERRORS as error:
                reason = type(error).__name__
            except BotoCoreError as error:
                raise ChatModelUnavailableError(
                    f"the assistant's model is unreachable ({type(error).__name__})"
                ) from error
            if attempt + 1 < self.max_attempts:
                wait = self.delay(attempt)
                logger.warning("bedrock %s: %s, retrying in %.2fs", what, reason, wait)
                self.sleep(wait)
        raise ChatModelUnavailableError(
            f"the assistant's model is unavailable ({reason}); try again shortly"
        )


def _merge_roles(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converse wants alternating roles starting with the user: merge neighbours."""
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if not turn["content"]:
            continue
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    return merged


def converse_messages(messages: Iterable[Message], guard_last_user_text: bool) -> list[Any]:
    """The loop's messages in Converse's shape. With a guardrail, the newest user question is
    wrapped in ``guardContent`` so only it is evaluated (history is not re-scanned)."""
    items = list(messages)
    last_text = max(
        (i for i, m in enumerate(items) if m.role == "user" and m.text and not m.tool_results),
        default=-1,
    )
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(items):
        content: list[dict[str, Any]] = []
        if message.text:
            if guard_last_user_text and index == last_text:
                content.append({"guardContent": {"text": {"text": message.text}}})
            else:
                content.append({"text": message.text})
        for call in message.tool_calls:
            content.append(
                {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
            )
        for result in message.tool_results:
            content.append(
                {
                    "toolResult": {
                        "toolUseId": result.call_id,
                        "content": [{"json": result.content}],
                        "status": result.status,
                    }
                }
            )
        turns.append({"role": message.role, "content": content})
    return _merge_roles(turns)


def _stop(value: Any) -> Any:
    return value if value in _STOP_REASONS else "malformed_model_output"


def translate_response(response: Mapping[str, Any]) -> Iterator[ModelEvent]:
    """A Converse response as the port's events."""
    content = response.get("output", {}).get("message", {}).get("content", [])
    for block in content:
        if "text" in block:
            yield TextDelta(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = use.get("input")
            yield ToolCallRequested(
                ToolCall(
                    use["toolUseId"], use["name"], arguments if isinstance(arguments, dict) else {}
                )
            )
    usage = response.get("usage", {})
    yield ModelFinished(
        _stop(response.get("stopReason")),
        int(usage.get("inputTokens", 0)),
        int(usage.get("outputTokens", 0)),
    )


def translate_stream(events: Iterable[Mapping[str, Any]]) -> Iterator[ModelEvent]:
    """ConverseStream's events as the port's events.

    Text is passed on as it arrives. A tool call's input arrives as JSON *fragments* per
    content block: they are joined and parsed at ``contentBlockStop`` (a call whose input
    does not parse ends the round as ``malformed_tool_use``). ``messageStop`` carries the
    stop reason and ``metadata`` the token usage, so the round finishes after both.
    """
    tools: dict[int, dict[str, Any]] = {}
    stop: Any = None
    usage: Mapping[str, Any] = {}
    malformed = False
    for event in events:
        for name in _STREAM_ERRORS:
            if name in event:
                # The message is Bedrock's own (it can name the model ARN, the account or echo
                # the input): logged here, never sent to the caller.
                logger.error("bedrock stream %s: %s", name, event[name].get("message", ""))
                raise ChatModelUnavailableError(f"the model's stream failed ({name})")
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            use = start.get("start", {}).get("toolUse")
            if use is not None:
                tools[start["contentBlockIndex"]] = {
                    "id": use["toolUseId"],
                    "name": use["name"],
                    "input": [],
                }
        elif "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = block.get("delta", {})
            if "text" in delta:
                yield TextDelta(delta["text"])
            elif "toolUse" in delta and block["contentBlockIndex"] in tools:
                tools[block["contentBlockIndex"]]["input"].append(delta["toolUse"].get("input", ""))
        elif "contentBlockStop" in event:
            tool = tools.pop(event["contentBlockStop"]["contentBlockIndex"], None)
            if tool is not None:
                raw = "".join(tool["input"]) or "{}"
                try:
                    arguments = json.loads(raw)
                except ValueError:
                    malformed = True
                    continue
                if not isinstance(arguments, dict):
                    malformed = True
                    continue
                yield ToolCallRequested(ToolCall(tool["id"], tool["name"], arguments))
        elif "messageStop" in event:
            stop = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            usage = event["metadata"].get("usage", {})
    yield ModelFinished(
        "malformed_tool_use" if malformed else _stop(stop),
        int(usage.get("inputTokens", 0)),
        int(usage.get("outputTokens", 0)),
    )


class BedrockChatModel:
    """Converse (``streaming=False``) or ConverseStream (default) on one model id."""

    name = "bedrock"

    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        guardrail: GuardrailRef | None = None,
        streaming: bool = True,
        backoff: Backoff | None = None,
    ) -> None:
        self._client = client
        self.model_id = model_id
        self._temperature = temperature
        self._top_p = top_p
        self._guardrail = guardrail
        self._streaming = streaming
        self._backoff = backoff or Backoff()

    def converse_params(self, request: ModelRequest) -> dict[str, Any]:
        inference: dict[str, Any] = {"maxTokens": request.max_tokens}
        if self._temperature is not None:
            inference["temperature"] = self._temperature
        if self._top_p is not None:
            inference["topP"] = self._top_p
        params: dict[str, Any] = {
            "modelId": self.model_id,
            "system": [{"text": request.system}],
            "messages": converse_messages(request.messages, self._guardrail is not None),
            "inferenceConfig": inference,
        }
        if request.tools:
            params["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": t.name,
                            "description": t.description,
                            "inputSchema": {"json": t.input_schema},
                        }
                    }
                    for t in request.tools
                ],
                "toolChoice": {"auto": {}},
            }
        if self._guardrail is not None:
            guardrail: dict[str, Any] = {
                "guardrailIdentifier": self._guardrail.identifier,
                "guardrailVersion": self._guardrail.version,
                "trace": "disabled",
            }
            if self._streaming:
                # Hold chunks until the guardrail has evaluated them: nothing unchecked is shown.
                guardrail["streamProcessingMode"] = "sync"
            params["guardrailConfig"] = guardrail
        return params

    def respond(self, request: ModelRequest) -> Iterator[ModelEvent]:
        params = self.converse_params(request)
        if self._streaming:
            response = self._backoff.call("ConverseStream", self._client.converse_stream, **params)
            try:
                yield from translate_stream(response["stream"])
            except (BotoCoreError, ClientError) as error:
                raise ChatModelUnavailableError("the model's stream was interrupted") from error
            return
        response = self._backoff.call("Converse", self._client.converse, **params)
        yield from translate_response(response)


class BedrockGuardrailScreen:
    """ApplyGuardrail (source INPUT) on free text before the model reads it.

    Fails closed: text the guardrail blocks, or cannot check, is withheld.
    """

    def __init__(
        self, client: Any, guardrail: GuardrailRef, backoff: Backoff | None = None
    ) -> None:
        self._client = client
        self._guardrail = guardrail
        self._backoff = backoff or Backoff(max_attempts=2)

    def screen(self, text: str) -> str | None:
        try:
            response = self._backoff.call(
                "ApplyGuardrail",
                self._client.apply_guardrail,
                guardrailIdentifier=self._guardrail.identifier,
                guardrailVersion=self._guardrail.version,
                source="INPUT",
                content=[{"text": {"text": text}}],
            )
        except ChatModelUnavailableError:
            logger.warning("ApplyGuardrail unavailable: withholding a tool result's free text")
            return None
        action = response.get("action")
        if action == "NONE":
            return text
        if action != "GUARDRAIL_INTERVENED":  # an answer it cannot read: fail closed
            logger.warning("ApplyGuardrail answered action %r: withholding", action)
            return None
        outputs = [o.get("text", "") for o in response.get("outputs", []) if o.get("text")]
        # A masking policy returns the text with the sensitive parts replaced: pass that on.
        return " ".join(outputs) if outputs else None
