"""Every decimal field of every operation, discovered from the OpenAPI document, accepts
exactly the strings its published pattern matches (ADR 0013).

For each decimal field the test builds a minimal schema-valid body around it and sends
arbitrary strings and JSON numbers in that one place: a value the pattern matches (read the
JSON Schema way, ``$`` is the end of the text) is never a 400; anything else is a 400 whose
problem names that field by the JSON path the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regenzet.adapters.persistence import sqlite_env
from regenzet.entrypoints.http.policy import POLICY
from regenzet.entrypoints.http.schemas import DECIMAL_PATTERN

from .conftest import Api, build_api
from .test_openapi_contract import ACTING, PREFERENCE

Json = Any
Location = tuple[str | int, ...]  # a JSON path: keys and list indexes


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path: Path = tmp_path_factory.mktemp("decimals")
    yield from build_api(path, sqlite_env(path / "regenzet.db"))


@pytest.fixture(scope="module")
def document(demo_api: Api) -> Json:
    response = demo_api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def _resolve(doc: Json, schema: Json) -> Json:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _branch(doc: Json, schema: Json) -> Json:
    """The non-null branch of an optional value (Litestar writes ``oneOf: [T, null]``)."""
    schema = _resolve(doc, schema)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            kinds = [_resolve(doc, s) for s in schema[key] if s.get("type") != "null"]
            return kinds[0]
    return schema


def _is_decimal(schema: Json) -> bool:
    return schema.get("type") == "string" and schema.get("pattern") == DECIMAL_PATTERN


def decimal_locations(doc: Json, schema: Json, at: Location = ()) -> Iterator[Location]:
    schema = _branch(doc, schema)
    if _is_decimal(schema):
        yield at
    elif schema.get("type") == "object":
        for name, prop in (schema.get("properties") or {}).items():
            yield from decimal_locations(doc, prop, (*at, name))
    elif schema.get("type") == "array":
        yield from decimal_locations(doc, schema["items"], (*at, 0))


# Minimal values for the string patterns the document uses; a new pattern fails loudly here.
EXAMPLES = {
    DECIMAL_PATTERN: "1",
    r"^[0-9a-f]{64}$": "0" * 64,
    r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$": "WVWZZZE1ZMP000999",
    r"^[A-Za-z0-9._-]+$": "a",
    r"^\d{2}:\d{2}$": "08:00",
}
FORMATS = {"uuid": str(uuid4()), "date": "2026-01-05", "date-time": "2026-01-05T09:00:00Z"}


def minimal(doc: Json, schema: Json, through: Location = ()) -> Json:
    """A small schema-valid instance; objects and arrays along ``through`` are included."""
    schema = _branch(doc, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        names = [*schema.get("required", [])]
        if through and through[0] not in names:
            names.append(str(through[0]))
        return {
            name: minimal(doc, props[name], through[1:] if through[:1] == (name,) else ())
            for name in names
        }
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if through else 0)
        return [minimal(doc, schema["items"], through[1:]) for _ in range(count)]
    if kind == "string":
        if "pattern" in schema:
            return EXAMPLES[schema["pattern"]]
        if "format" in schema:
            return FORMATS[schema["format"]]
        return "x" * max(schema.get("minLength", 1), 1)
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    msg = f"no minimal value for {schema}"
    raise AssertionError(msg)


def _nullable(doc: Json, schema: Json, at: Location) -> bool:
    for part in at:
        schema = _branch(doc, schema)
        schema = schema["items"] if isinstance(part, int) else schema["properties"][part]
    schema = _resolve(doc, schema)
    return any(s.get("type") == "null" for s in schema.get("oneOf", []))


def _put(body: Json, at: Location, value: Json) -> Json:
    target = body
    for part in at[:-1]:
        target = target[part]
    target[at[-1]] = value
    return body


def _json_path(at: Location) -> str:
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def decimal_fields(doc: Json) -> list[tuple[str, str, str, Json, Location]]:
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            for at in decimal_locations(doc, body["schema"]):
                found.append((operation["operationId"], method, path, body["schema"], at))
    return found


def test_the_document_publishes_decimal_fields_on_the_money_and_measurement_writes(
    document: Json,
) -> None:
    fields = {(op, _json_path(at)) for op, _, _, _, at in decimal_fields(document)}
    # A sample the discovery must find (it finds every one; this guards the walker itself).
    assert {
        ("registerVehicle", "battery_kwh"),
        ("addJob", "labour[0].hours"),
        ("addJob", "parts[0].unit_price"),
        ("recordPayment", "amount"),
        ("recordMeasurement", "test_voltage_v"),
        ("isolateHv", "residual_voltage_v"),
    } <= fields
    assert len(fields) >= 20


# Read the JSON Schema way: ``$`` ends the text (Python's ``$`` also matches before a "\n").
PUBLISHED = re.compile(DECIMAL_PATTERN.removesuffix("$") + r"\Z")

candidates = st.one_of(
    st.from_regex(PUBLISHED, fullmatch=True),
    st.text(alphabet="0123456789.-+eE_ \n\u0661\u0662", max_size=16),
    st.decimals(allow_nan=False).map(str),
    st.text(max_size=8),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
)


def test_every_decimal_field_accepts_exactly_the_published_pattern(
    demo_api: Api, document: Json
) -> None:
    fields = decimal_fields(document)
    assert fields
    for operation_id, method, path, schema, at in fields:
        _probe(demo_api, document, operation_id, method, path, schema, at)


def _probe(
    api: Api, document: Json, operation_id: str, method: str, path: str, schema: Json, at: Location
) -> None:
    role = next(r for r in PREFERENCE if r in POLICY[operation_id])
    headers = api.auth(ACTING[role])
    # Random ids: a schema-valid body reaches the handler and ends in a 404, changing nothing.
    url = re.sub(r"\{[^}]+\}", lambda m: _path_value(m.group(0)), path)
    nullable = _nullable(document, schema, at)

    @given(value=candidates)
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(value: Json) -> None:
        body = _put(minimal(document, schema, at), at, value)
        response = api.client.request(method.upper(), url, json=body, headers=headers)
        assert response.status_code < 500, response.text
        valid = isinstance(value, str) and PUBLISHED.match(value) is not None
        if valid or (value is None and nullable):
            assert response.status_code != 400, (operation_id, value, response.text)
        else:
            assert response.status_code == 400, (operation_id, value, response.text)
            fields_named = {e.get("field") for e in response.json().get("errors", [])}
            assert _json_path(at) in fields_named, (operation_id, value, response.text)

    check()


def _path_value(template: str) -> str:
    name = template.strip("{}").split(":")[0]
    return {"job_id": "no-such-job", "item_code": "no.such.item"}.get(name, str(uuid4()))
