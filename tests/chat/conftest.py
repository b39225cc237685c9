"""The demo garage for the assistant's tests, and a scripted model: a real ``ChatModel`` that
plays back a fixed list of rounds (each a list of events), recording the requests it got."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from regenzet.adapters.persistence import sqlite_env
from regenzet.application.chat import (
    Assistant,
    ChatModel,
    ModelEvent,
    ModelFinished,
    ModelRequest,
    TextDelta,
    TextScreen,
    ToolCall,
    ToolCallRequested,
)
from regenzet.application.identity import Principal
from regenzet.entrypoints.bootstrap import chat_assistant

from ..http.conftest import Api, build_api


class ScriptedChatModel:
    """Answers each round with the next scripted list of events."""

    name = "scripted"

    def __init__(self, rounds: Sequence[Sequence[ModelEvent]]) -> None:
        self._rounds = list(rounds)
        self.requests: list[ModelRequest] = []

    def respond(self, request: ModelRequest) -> Iterator[ModelEvent]:
        self.requests.append(request)
        if not self._rounds:
            raise AssertionError("the loop asked for more rounds than scripted")
        yield from self._rounds.pop(0)


def tool_round(*calls: tuple[str, dict[str, Any]], tokens: int = 10) -> list[ModelEvent]:
    events: list[ModelEvent] = [
        ToolCallRequested(ToolCall(f"tu-{i}", name, args)) for i, (name, args) in enumerate(calls)
    ]
    return [*events, ModelFinished("tool_use", tokens, tokens)]


def text_round(text: str, stop: Any = "end_turn", tokens: int = 10) -> list[ModelEvent]:
    return [TextDelta(text), ModelFinished(stop, tokens, tokens)]


@pytest.fixture(scope="module")
def garage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One seeded demo garage (SQLite) with its read models caught up."""
    path: Path = tmp_path_factory.mktemp("chat")
    yield from build_api(path, sqlite_env(path / "regenzet.db"))


def principal_of(api: Api, name: str) -> Principal:
    login = api.logins[name]
    return Principal(
        subject=login.subject,
        role=login.role,
        customer_id=login.customer_id,
        staff_id=login.staff_id,
    )


def assistant_for(api: Api, model: ChatModel, screen: TextScreen | None = None) -> Assistant:
    assert api.services.read_models is not None
    assistant, _turns = chat_assistant(
        api.settings, api.workshop, api.services.read_models, model=model, screen=screen
    )
    return assistant


def bedrock_client() -> Any:
    """A real bedrock-runtime client with dummy credentials (for Stubber; no network)."""
    return boto3.client(
        "bedrock-runtime",
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
