"""Markup limits (issue 13, review of the media flow, low 11): a label shows nothing hidden
(no bidi override, zero-width or line separator, as file names), and one markup holds at most
2,000 points over all its shapes (each markup is an event replayed on every load)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api
from .test_media_confirm_retries import uploaded
from .test_media_flow import (
    BOLT,
    INSPECTIONS,
    confirm,
    garage,  # noqa: F401 - the module's garage, shared by these tests
    position,
    problem,
)


@pytest.fixture
def api(garage: tuple[Api, Any]) -> Api:  # noqa: F811
    return garage[0]


def attached_photo(api: Api) -> str:
    ticket = uploaded(api)
    assert confirm(api, ticket).status_code == 200
    return f"{INSPECTIONS}/{BOLT}/media/{ticket['media_id']}/annotations"


@pytest.mark.parametrize(
    "label",
    ["\u202egnp.exe", "Pit\u200bting", "two\u2028lines", "para\u2029graph", "soft\u00adhy"],
)
def test_a_label_with_a_bidi_override_or_invisible_character_is_a_422(api: Api, label: str) -> None:
    path = attached_photo(api)
    before = position(api)
    shape = {"kind": "text", "points": [[0.5, 0.5]], "colour": "#ffffff", "label": label}
    response = api.client.post(path, json={"shapes": [shape]}, headers=api.auth("noor"))
    assert problem(response, 422, "validation")["field"] == "shapes[0].label"
    assert position(api) == before


def test_a_markup_of_more_than_2000_points_in_all_is_a_422(api: Api) -> None:
    path = attached_photo(api)
    line = [[i / 500, 0.5] for i in range(500)]
    shapes = [{"kind": "freehand", "points": line, "colour": "#ff3b30"} for _ in range(5)]
    before = position(api)
    response = api.client.post(path, json={"shapes": shapes}, headers=api.auth("noor"))
    body = problem(response, 422, "validation")
    assert (body["field"], "2000" in body["detail"]) == ("shapes", True)
    assert position(api) == before
    allowed = api.client.post(path, json={"shapes": shapes[:4]}, headers=api.auth("noor"))
    assert allowed.status_code == 200, allowed.text
