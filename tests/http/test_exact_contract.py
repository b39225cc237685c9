"""The API's contract made exact (issue 11, defects 2-6): reads on an empty store, unknown
filter values, fields named by the client's JSON path, limits the schema states, unreal VINs
and duplicate plates refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from regenzet.domain.common import Role
from regenzet.domain.repair_order import RepairOrderStatus
from regenzet.domain.vehicle import Vehicle
from regenzet.entrypoints.demo import VEHICLES, demo_id
from regenzet.entrypoints.http.problems import MAX_REQUEST_BODY

from .conftest import Api, build_api
from .test_idempotency import STORES, shared_api
from .test_problems_and_limits import CUSTOMERS, problem


@pytest.fixture(scope="module", params=STORES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from shared_api(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from regenzet.adapters.persistence import sqlite_env

    path: Path = tmp_path_factory.mktemp("empty")
    yield from build_api(path, sqlite_env(path / "regenzet.db"), seed=False)


def manager(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(Role.MANAGER, staff_id=uuid4())}"}


# -- defect 4: read models on a fresh data dir --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/kpis?min_position=1",
        "/api/v1/board?min_position=1",
        f"/api/v1/vehicles/{uuid4()}/profile?min_position=1",
        f"/api/v1/inspections/{uuid4()}/summary?min_position=7",
    ],
)
def test_a_position_on_an_empty_store_is_past_the_end_of_the_log_not_a_500(
    empty: Api, path: str
) -> None:
    body = problem(empty.client.get(path, headers=manager(empty)), 422)
    assert body["field"] == "min_position"
    assert "past the end of the event log" in body["detail"]


def test_reads_on_an_empty_store_answer_empty(empty: Api) -> None:
    response = empty.client.get("/api/v1/board", headers=manager(empty))
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None, "position": 0}


# -- defect 5: unknown filter values ---------------------------------------------------------


def test_an_unknown_status_filter_is_a_400_listing_the_allowed_values(api: Api) -> None:
    body = problem(api.client.get("/api/v1/board?status=bogus", headers=api.auth("eva")), 400)
    assert body["field"] == "status"
    message = body["errors"][0]["message"]
    for status in RepairOrderStatus:
        assert status.value in message


def test_a_known_status_filter_still_filters(api: Api) -> None:
    response = api.client.get("/api/v1/board?status=in_progress", headers=api.auth("eva"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items
    assert {item["status"] for item in items} == {"in_progress"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/staff?active=null", "active"),
        ("/api/v1/staff?role=null", "role"),
        ("/api/v1/board?min_position=null", "min_position"),
        ("/api/v1/staff?certificate_valid=null", "certificate_valid"),
    ],
)
def test_null_is_not_a_query_value_it_is_a_400_naming_the_parameter(
    api: Api, path: str, field: str
) -> None:
    # Litestar would read "null" as "no filter" for an optional parameter; the schema says a
    # query parameter is a value or absent.
    body = problem(api.client.get(path, headers=manager(api)), 400)
    assert body["field"] == field
    assert "null" in body["errors"][0]["message"]


def test_null_stays_text_in_a_free_text_query(api: Api) -> None:
    response = api.client.get("/api/v1/customers?q=null", headers=manager(api))
    assert response.status_code == 200, response.text


# -- defect 6: the field is the client's JSON path; limits and messages ----------------------


def test_a_missing_field_is_named_not_the_body_parameter(api: Api) -> None:
    body = problem(api.client.post(CUSTOMERS, json={"name": "Femke"}, headers=api.auth("eva")), 400)
    assert body["field"] == "email"


def test_an_unknown_nested_field_is_named_by_its_path(api: Api) -> None:
    sent = {"name": "Femke", "email": "f@example.nl", "preferences": {"colour": "red"}}
    body = problem(api.client.post(CUSTOMERS, json=sent, headers=api.auth("eva")), 400)
    assert body["field"] == "preferences.colour"


def test_a_field_inside_a_list_is_named_with_its_index(api: Api) -> None:
    order = demo_id("repair-order:id3-brakes")
    job = {
        "job_id": "extra",
        "title": "Extra",
        "labour": [{"description": "a", "hours": "1", "rate": "85"}, {"description": "b"}],
    }
    response = api.client.post(
        f"/api/v1/repair-orders/{order}/jobs", json=job, headers=api.auth("eva")
    )
    assert problem(response, 400)["field"] == "labour[1].hours"


def test_an_empty_body_says_a_body_is_needed_not_data(api: Api) -> None:
    order = demo_id("repair-order:id3-brakes")
    response = api.client.post(
        f"/api/v1/repair-orders/{order}/quality-check/pass", headers=api.auth("pieter")
    )
    body = problem(response, 400)
    assert "data" not in response.text.replace("metadata", "")
    assert "body is required" in body["errors"][0]["message"]


def test_a_lower_odometer_on_opening_an_order_names_odometer_in_km(api: Api) -> None:
    vin, *_rest, owner = VEHICLES["model3"]
    sent = {
        "vehicle_id": str(Vehicle.create_id(vin)),
        "customer_id": str(demo_id(f"customer:{owner}")),
        "concerns": ["noise"],
        "odometer_in_km": 1,
    }
    body = problem(
        api.client.post("/api/v1/repair-orders", json=sent, headers=api.auth("eva")), 422
    )
    assert body["field"] == "odometer_in_km"


def test_an_enum_error_in_a_body_lists_the_allowed_values(api: Api) -> None:
    sent = {"name": "Kim", "email": "kim@example.nl", "role": "boss"}
    body = problem(api.client.post("/api/v1/staff", json=sent, headers=api.auth("pieter")), 400)
    assert body["field"] == "role"
    assert (
        "allowed: customer, advisor, technician, manager, auditor" in body["errors"][0]["message"]
    )


def test_the_413_states_the_limit(api: Api) -> None:
    headers = api.auth("eva", **{"Content-Type": "application/json"})
    big = b'{"name": "' + b"x" * (MAX_REQUEST_BODY + 1) + b'"}'
    body = problem(api.client.post(CUSTOMERS, content=big, headers=headers), 413)
    assert f"{MAX_REQUEST_BODY} bytes" in body["detail"]


def schema_of(api: Api, name: str) -> dict[str, Any]:
    schemas: dict[str, Any] = api.client.get("/schema/openapi.json").json()["components"]["schemas"]
    return schemas[name]  # type: ignore[no-any-return]


def test_the_schema_states_the_concern_and_name_limits_the_domain_enforces(api: Api) -> None:
    order = schema_of(api, "OpenRepairOrder")["properties"]
    assert order["concerns"]["items"]["maxLength"] == 500
    vehicle = schema_of(api, "RegisterVehicle")["properties"]
    assert vehicle["model"]["maxLength"] == 60
    assert schema_of(api, "RegisterCustomer")["properties"]["name"]["maxLength"] == 120


def test_a_concern_over_the_limit_is_refused_at_the_edge(api: Api) -> None:
    vin, *_rest, owner = VEHICLES["model3"]
    sent = {
        "vehicle_id": str(Vehicle.create_id(vin)),
        "customer_id": str(demo_id(f"customer:{owner}")),
        "concerns": ["x" * 501],
        "odometer_in_km": 60_000,
    }
    body = problem(
        api.client.post("/api/v1/repair-orders", json=sent, headers=api.auth("eva")), 400
    )
    assert body["field"] == "concerns[0]"


# -- defect 2: unreal VINs and duplicate plates -----------------------------------------------


def vehicle_body(vin: str, plate: str) -> dict[str, Any]:
    return {
        "vin": vin,
        "plate": plate,
        "model": "ID.3",
        "year": 2021,
        "battery_kwh": "58",
        "nominal_voltage_v": "400",
        "owner_id": str(demo_id("customer:lukas")),
    }


def test_an_all_zero_vin_is_refused(api: Api) -> None:
    sent = vehicle_body("00000000000000000", "Z-000-Z")
    body = problem(api.client.post("/api/v1/vehicles", json=sent, headers=api.auth("eva")), 422)
    assert body["field"] == "vin"


def test_a_plate_on_another_live_vehicle_is_a_409_naming_that_vehicle(api: Api) -> None:
    vin, plate, *_rest = VEHICLES["model3"]
    sent = vehicle_body("WVWZZZE1ZMP000777", plate.lower().replace("-", " "))
    body = problem(api.client.post("/api/v1/vehicles", json=sent, headers=api.auth("eva")), 409)
    assert body["rule"] == "unique"
    assert str(Vehicle.create_id(vin)) in body["detail"]


# -- defect 7: who may call what, in the document ------------------------------------------


def test_every_operation_names_exactly_the_roles_the_policy_allows(api: Api) -> None:
    from regenzet.entrypoints.http.policy import POLICY

    document = api.client.get("/schema/openapi.json").json()
    seen = set()
    for item in document["paths"].values():
        for operation in item.values():
            operation_id = operation.get("operationId")
            if operation_id not in POLICY:
                continue
            seen.add(operation_id)
            described = operation["description"].split("**Roles:** ", 1)[1].split(".", 1)[0]
            assert set(described.split(", ")) == {r.value for r in POLICY[operation_id]}
    assert seen == set(POLICY)


def test_an_operation_a_customer_may_call_on_a_record_states_its_object_rule(api: Api) -> None:
    document = api.client.get("/schema/openapi.json").json()
    approve = document["paths"]["/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/approve"]
    assert "a customer reaches only their own repair orders" in approve["post"]["description"]
    kpis = document["paths"]["/api/v1/kpis"]["get"]["description"]
    assert "Object rule" not in kpis
    assert "**Roles:** manager, auditor." in kpis


# -- defect 8: the docs pages work offline --------------------------------------------------


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
def test_the_docs_pages_load_every_script_and_style_from_the_server_itself(
    empty: Api, page: str
) -> None:
    import re

    response = empty.client.get(page)
    assert response.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", response.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert "://" not in response.text  # no CDN, no other host
    for asset in assets:
        loaded = empty.client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content
