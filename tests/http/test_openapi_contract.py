"""Schemathesis against the app's own OpenAPI document, on an EMPTY store and on the DEMO
garage: generated requests for every operation, authenticated as a role the operation allows,
must never cause a server error and every response must conform to the schema (status,
content type, headers, body).

Both generation modes run: schema-valid requests must be accepted (``positive_data_acceptance``:
never a 400, so the schema promises nothing the server refuses) and schema-invalid ones
refused (``negative_data_rejection``: the server enforces every constraint it publishes).

Path ids are drawn from the demo garage most of the time (so requests reach real records and
the domain's own refusals) and are random otherwise (so the 404 path is exercised too).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from regenzet.adapters.backends import PollingWaker
from regenzet.adapters.persistence import sqlite_env
from regenzet.domain.common import Role
from regenzet.domain.vehicle import Vehicle
from regenzet.entrypoints.demo import CUSTOMERS, STAFF, VEHICLES, demo_id
from regenzet.entrypoints.followers import FollowerRunner
from regenzet.entrypoints.http.policy import LINK_OPERATIONS, POLICY, SIGNED_OPERATIONS

from .conftest import Api, build_api

EXAMPLES = 25
# Schema-valid input may still break a domain rule (422), a state rule (409), name a record
# that is gone (404) or carry a stale version (412) -- but it is never a 400: that would mean
# the schema promises what the server refuses. No 5xx in either list.
ACCEPTABLE = ["200", "201", "401", "403", "404", "409", "412", "422", "429"]
REFUSALS = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "428", "429"]
CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ACCEPTABLE},
        "negative_data_rejection": {"expected-statuses": REFUSALS},
    }
}
# Roles tried in this order: the first one the operation allows signs the request.
PREFERENCE = [Role.MANAGER, Role.ADVISOR, Role.TECHNICIAN, Role.AUDITOR, Role.CUSTOMER]
ACTING = {
    Role.MANAGER: "pieter",
    Role.ADVISOR: "eva",
    Role.TECHNICIAN: "noor",
    Role.AUDITOR: "ines",
    Role.CUSTOMER: "sanne",
}

ORDERS = [
    "model3-hv",
    "leaf-balance",
    "id3-brakes",
    "macheh-port",
    "ev6-ota",
    "ev6-12v",
    "bolt-check",
]
KNOWN_IDS: dict[str, list[str]] = {
    "customer_id": [str(demo_id(f"customer:{k}")) for k in CUSTOMERS],
    "staff_id": [str(demo_id(f"staff:{row[0]}")) for row in STAFF],
    "vehicle_id": [str(Vehicle.create_id(v[0])) for v in VEHICLES.values()],
    "repair_order_id": [str(demo_id(f"repair-order:{k}")) for k in ORDERS],
    "inspection_id": [str(demo_id(f"inspection:{k}")) for k in ("leaf", "bolt", "model3")],
}
KNOWN_IDS["aggregate_id"] = KNOWN_IDS["repair_order_id"] + KNOWN_IDS["vehicle_id"]
KNOWN_CODES: dict[str, list[str]] = {
    "job_id": ["balance", "tyres", "hv-pump", "cabin-filter", "discs", "wipers", "charge-port"],
    "item_code": ["bms.cell_balance", "tyres.tread_depth", "hv.isolation"],
    "vin": [v[0] for v in VEHICLES.values()],
}


@pytest.fixture(scope="module", params=["empty", "demo"])
def contract_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A fresh data dir, or the demo garage, with its followers running live as
    ``regenzet serve`` runs them."""
    path: Path = tmp_path_factory.mktemp(f"contract-{request.param}")
    env = sqlite_env(path / "regenzet.db")
    for api in build_api(path, env, seed=request.param == "demo"):
        runner = FollowerRunner(api.followers, PollingWaker())
        runner.start()
        try:
            yield api
        finally:
            runner.stop()


@pytest.fixture(scope="module")
def api_schema(contract_api: Api) -> Any:
    return schemathesis.openapi.from_asgi(
        "/schema/openapi.json", contract_api.client.app, config=SchemathesisConfig.from_dict(CONFIG)
    )


def _steer(case: Any) -> None:
    """Points most generated path parameters at real demo records."""
    for name, value in list((case.path_parameters or {}).items()):
        choices = KNOWN_IDS.get(name) or KNOWN_CODES.get(name)
        if not choices:
            continue
        bucket = zlib.crc32(str(value).encode())
        if bucket % 4:  # three in four requests reach a real record
            case.path_parameters[name] = choices[bucket % len(choices)]


def test_the_acceptance_and_rejection_checks_are_among_the_checks_run(api_schema: Any) -> None:
    names = CHECKS.get_all_names()
    assert {"negative_data_rejection", "positive_data_acceptance"} <= set(names)
    config = api_schema.config.checks_config_for(operation=None, phase=None)
    assert config.positive_data_acceptance.enabled
    assert config.negative_data_rejection.enabled
    assert config.positive_data_acceptance.expected_statuses == ACCEPTABLE
    assert config.negative_data_rejection.expected_statuses == REFUSALS


# Operations without parameters or body: there is nothing to make invalid, so only the
# positive mode runs for them (the next test keeps this list honest).
NOTHING_TO_NEGATE = {"whoAmI", "health", "ready", "getAuditCheckpoints"}


def test_the_operations_left_out_of_negative_runs_take_no_input(api_schema: Any) -> None:
    for operation_id in NOTHING_TO_NEGATE:
        definition = api_schema.find_operation_by_id(operation_id).definition.raw
        assert not definition.get("parameters"), operation_id
        assert "requestBody" not in definition, operation_id


# schemathesis' own pytest plugin reaches into pytest internals that pytest 9 removed, so each
# operation's strategy is driven by Hypothesis directly, one test per operation and mode.
CASES = [
    (operation_id, mode)
    for operation_id in [
        *sorted(POLICY),
        *sorted(LINK_OPERATIONS),
        *sorted(SIGNED_OPERATIONS),
        "health",
        "ready",
    ]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode.is_positive or operation_id not in NOTHING_TO_NEGATE
]


@pytest.mark.parametrize(("operation_id", "mode"), CASES)
def test_every_operation_honours_its_schema(
    operation_id: str, mode: GenerationMode, api_schema: Any, contract_api: Api
) -> None:
    operation = api_schema.find_operation_by_id(operation_id)
    allowed = POLICY.get(operation_id, frozenset())
    role = next((r for r in PREFERENCE if r in allowed), None)

    # The token is given to the strategy, not added afterwards: a negative case must not count
    # a missing Authorization header as its invalid part when the request then carries one.
    auth = contract_api.auth(ACTING[role]) if role is not None else {}

    @given(case=operation.as_strategy(generation_mode=mode, headers=auth or None))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        # No shrinking: a failure already prints a reproducing curl, and shrinking a failing
        # request through the whole app takes minutes.
        phases=[Phase.explicit, Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if mode.is_positive:  # a negative case's invalid path value is the point: keep it
            _steer(case)
        headers = {**(case.headers or {}), **auth}
        # Every built-in check: no server error, status, content type, headers and body as
        # documented, and the acceptance or rejection check of the case's mode.
        response = case.call_and_validate(headers=headers)
        assert response.status_code < 500, response.text

    run()
