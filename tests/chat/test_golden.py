"""Golden transcripts of the offline assistant: owner and advisor questions over the demo
garage, through the real loop, tools and object checks.

Each ``golden/*.json`` holds who asks, the question, the tool calls the assistant made (name,
arguments, status) and the answer. Values that depend on the day the suite runs (invoice
numbers carry the month, promised times the date) are masked before comparing. To accept a
deliberate change of wording, run with ``REGENZET_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from regenzet.adapters.chat_local import LocalChatModel
from regenzet.application.chat import ModelRequest, ToolCallRequested, collect

from ..http.conftest import Api
from .conftest import assistant_for, principal_of

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def mask(text: str) -> str:
    text = re.sub(r"INV-\d{6}-", "INV-<month>-", text)
    return re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00)?", "<time>", text)


class RecordingLocalModel(LocalChatModel):
    """The offline model, keeping the tool calls it asked for (with their arguments)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def respond(self, request: ModelRequest) -> Any:
        for event in super().respond(request):
            if isinstance(event, ToolCallRequested):
                self.calls.append((event.call.name, event.call.arguments))
            yield event


def run(api: Api, who: str, question: str) -> dict[str, Any]:
    model = RecordingLocalModel()
    done, tools = collect(assistant_for(api, model).ask(principal_of(api, who), question))
    return {
        "who": who,
        "question": question,
        "tools": [
            {"name": name, "arguments": args, "status": ran.status}
            for (name, args), ran in zip(model.calls, tools, strict=True)
        ],
        "answer": mask(done.answer),
        "records": list(done.records),
    }


def test_there_are_golden_transcripts_for_owners_and_advisors() -> None:
    whos = {json.loads((GOLDEN / f"{c}.json").read_text())["who"] for c in CASES}
    assert {"sanne", "lukas", "amira", "eva", "noor"} <= whos
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES)
def test_golden_transcript(garage: Api, case: str) -> None:
    path = GOLDEN / f"{case}.json"
    expected = json.loads(path.read_text())
    actual = run(garage, expected["who"], expected["question"])
    if os.environ.get("REGENZET_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == expected
