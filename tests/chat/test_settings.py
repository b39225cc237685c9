"""The assistant's settings: local by default, Bedrock only with a model id, bounds checked."""

from __future__ import annotations

import pytest

from regenzet.entrypoints.settings import ChatSettings, Settings, SettingsError


def test_the_offline_assistant_is_the_default() -> None:
    chat = Settings.from_env({}).chat
    assert chat == ChatSettings()
    assert (chat.model, chat.max_tool_rounds, chat.retention_days) == ("local", 4, 90)


def test_bedrock_settings_are_read() -> None:
    chat = ChatSettings.from_env(
        {
            "REGENZET_CHAT_MODEL": "bedrock",
            "REGENZET_BEDROCK_MODEL_ID": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "REGENZET_BEDROCK_REGION": "eu-central-1",
            "REGENZET_BEDROCK_GUARDRAIL_ID": "gr-1",
            "REGENZET_BEDROCK_GUARDRAIL_VERSION": "3",
            "REGENZET_BEDROCK_STREAMING": "false",
            "REGENZET_CHAT_TEMPERATURE": "0.2",
            "REGENZET_CHAT_MAX_TOOL_ROUNDS": "3",
            "REGENZET_CHAT_MAX_SECONDS": "20",
            "REGENZET_CHAT_RETENTION_DAYS": "30",
        }
    )
    assert chat.model == "bedrock"
    assert chat.bedrock_streaming is False
    assert (chat.guardrail_id, chat.guardrail_version, chat.temperature) == ("gr-1", "3", 0.2)
    assert (chat.max_tool_rounds, chat.max_seconds, chat.retention_days) == (3, 20, 30)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REGENZET_CHAT_MODEL": "gpt"}, "local or bedrock"),
        ({"REGENZET_CHAT_MODEL": "bedrock"}, "REGENZET_BEDROCK_MODEL_ID"),
        ({"REGENZET_CHAT_TEMPERATURE": "2"}, "between 0 and 1"),
        ({"REGENZET_CHAT_MAX_TOOL_ROUNDS": "0"}, "at least 1"),
        ({"REGENZET_BEDROCK_STREAMING": "maybe"}, "true or false"),
    ],
)
def test_bad_chat_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ChatSettings.from_env(env)


def test_the_composition_root_picks_the_configured_model(tmp_path: object) -> None:
    import attrs

    from regenzet.adapters.chat_bedrock import BedrockChatModel, BedrockGuardrailScreen
    from regenzet.adapters.chat_local import LocalChatModel
    from regenzet.application.chat import PassThroughScreen
    from regenzet.entrypoints.bootstrap import chat_model

    local = Settings.from_env({})
    model, screen = chat_model(local)
    assert isinstance(model, LocalChatModel)
    assert isinstance(screen, PassThroughScreen)
    bedrock = attrs.evolve(
        local,
        chat=ChatSettings(
            model="bedrock",
            bedrock_model_id="eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            bedrock_region="eu-central-1",
            guardrail_id="gr-1",
        ),
    )
    model, screen = chat_model(bedrock)
    assert isinstance(model, BedrockChatModel)
    assert model.model_id == "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert isinstance(screen, BedrockGuardrailScreen)
