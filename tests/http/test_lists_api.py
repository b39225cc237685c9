"""The list and search routes (issue 11): what each finds, pagination, filters, and that a
customer's lists hold only their own rows (someone else's id is a 404 that leaks nothing)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from regenzet.domain.vehicle import Vehicle
from regenzet.entrypoints.demo import CUSTOMERS, STAFF, VEHICLES, demo_id

from .conftest import Api, customer_id, order_id

LEAF_VEHICLE = Vehicle.create_id("1N4AZ1CP0JC306212")
LEAF_ORDER = order_id("leaf-balance")
LEAKS = ["Lukas", "Meyer", "lukas.meyer@example.de", "1N4AZ1CP0JC306212", "H-456-LF", "Leaf"]


def get(api: Api, path: str, who: str = "eva", **params: Any) -> Any:
    return api.client.get(f"/api/v1{path}", params=params, headers=api.auth(who))


def items(api: Api, path: str, who: str = "eva", **params: Any) -> list[dict[str, Any]]:
    response = get(api, path, who, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    return list(body["items"])


def every_page(api: Api, path: str, who: str = "eva", **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        body = get(api, path, who, limit=1, **params, **extra).json()
        assert len(body["items"]) <= 1
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_customers_are_searched_by_name_email_or_phone(api: Api) -> None:
    assert [c["name"] for c in items(api, "/customers", q="VRIES")] == ["Sanne de Vries"]
    assert [c["name"] for c in items(api, "/customers", q="lukas.meyer@")] == ["Lukas Meyer"]
    assert [c["name"] for c in items(api, "/customers", q="+31 6")] == [
        "Amira Haddad",
        "Sanne de Vries",
    ]
    assert items(api, "/customers", q="zzz") == []
    assert items(api, "/customers", q="  ") == []
    row = items(api, "/customers", q="sanne")[0]
    assert set(row) == {"id", "version", "name", "email", "phone", "last_change"}


def test_cursor_pages_cover_every_customer_once_in_name_order(api: Api) -> None:
    names = [c["name"] for c in every_page(api, "/customers")]
    assert names == sorted((c[0] for c in CUSTOMERS.values()), key=str.casefold)


def test_a_customer_lists_only_themselves(sqlite_api: Api) -> None:
    assert [c["name"] for c in items(sqlite_api, "/customers", "sanne")] == ["Sanne de Vries"]
    assert items(sqlite_api, "/customers", "sanne", q="lukas") == []


def test_vehicles_by_plate_vin_tail_and_owner(api: Api) -> None:
    assert [v["plate"] for v in items(api, "/vehicles", q="h 456")] == ["H-456-LF"]
    assert [v["plate"] for v in items(api, "/vehicles", q="306212")] == ["H-456-LF"]
    assert [v["plate"] for v in items(api, "/vehicles", q="1n4az1")] == ["H-456-LF"]
    lukas = items(api, "/vehicles", owner_id=str(customer_id("lukas")))
    assert [v["vin"] for v in lukas] == [VEHICLES["leaf"][0]]
    assert "vin_reversed" not in lukas[0]
    assert len(every_page(api, "/vehicles")) == len(VEHICLES)


def test_a_customer_lists_only_their_own_vehicles(sqlite_api: Api) -> None:
    sanne = {v["owner_id"] for v in items(sqlite_api, "/vehicles", "sanne")}
    assert sanne == {str(customer_id("sanne"))}
    assert items(sqlite_api, "/vehicles", "sanne", q="H-456") == []


def test_the_technician_picker(api: Api) -> None:
    def names(**params: Any) -> list[str]:
        return [s["name"] for s in items(api, "/staff", role="technician", **params)]

    assert names(min_hv_level=3) == ["Noor El Amrani"]
    assert names(min_hv_level=2) == ["Daan Visser", "Noor El Amrani"]
    assert names(certificate_valid="false") == ["Jonas Peters"]
    assert len(every_page(api, "/staff")) == len(STAFF)
    jonas = next(s for s in items(api, "/staff") if s["name"] == "Jonas Peters")
    assert (jonas["hv_level"], jonas["effective_hv_level"], jonas["certificate_valid"]) == (
        3,
        0,
        False,
    )
    bad = get(api, "/staff", role="customer")
    assert bad.status_code == 400
    bad = get(api, "/staff", min_hv_level=4)
    assert bad.status_code == 400


def test_inspections_per_vehicle_and_per_order(sqlite_api: Api) -> None:
    leaf = items(sqlite_api, "/inspections", vehicle_id=str(LEAF_VEHICLE))
    assert [i["id"] for i in leaf] == [str(demo_id("inspection:leaf"))]
    by_order = items(sqlite_api, "/inspections", repair_order_id=str(LEAF_ORDER))
    assert [i["vehicle_id"] for i in by_order] == [str(LEAF_VEHICLE)]
    # The owner sees the shared inspection of their car.
    own = items(sqlite_api, "/inspections", "lukas", vehicle_id=str(LEAF_VEHICLE))
    assert [i["shared"] for i in own] == [True]
    everything = items(sqlite_api, "/inspections")
    assert len(everything) >= 3


def test_a_customer_sees_only_shared_inspections(sqlite_api: Api) -> None:
    model3 = demo_id("inspection:model3")
    vehicle = sqlite_api.workshop.get_inspection(model3).vehicle_id
    staff_rows = items(sqlite_api, "/inspections", vehicle_id=str(vehicle))
    owner_rows = items(sqlite_api, "/inspections", "sanne", vehicle_id=str(vehicle))
    assert {r["id"] for r in owner_rows} == {r["id"] for r in staff_rows if r["shared"]}
    refused = get(sqlite_api, "/inspections", "sanne")
    assert refused.status_code == 422
    assert refused.json()["field"] == "vehicle_id"


def test_repair_orders_newest_first_per_customer_and_vehicle(api: Api) -> None:
    lukas = items(api, "/repair-orders", customer_id=str(customer_id("lukas")))
    assert lukas
    assert {o["customer_id"] for o in lukas} == {str(customer_id("lukas"))}
    opened = [o["opened_on"] for o in every_page(api, "/repair-orders")]
    assert opened == sorted(opened, reverse=True)
    leaf = items(api, "/repair-orders", vehicle_id=str(LEAF_VEHICLE))
    assert str(LEAF_ORDER) in {o["id"] for o in leaf}
    quoted = items(api, "/repair-orders", status="awaiting_approval")
    assert quoted
    assert {o["status"] for o in quoted} == {"awaiting_approval"}
    bad = get(api, "/repair-orders", status="bogus")
    assert bad.status_code == 400


def test_a_customer_lists_only_their_own_repair_orders(sqlite_api: Api) -> None:
    own = items(sqlite_api, "/repair-orders", "sanne")
    assert own
    assert {o["customer_id"] for o in own} == {str(customer_id("sanne"))}
    # Filtering by someone else's vehicle shows nothing of theirs.
    assert items(sqlite_api, "/repair-orders", "sanne", vehicle_id=str(LEAF_VEHICLE)) == []


# Each names another customer's record; Sanne gets the 404 of a record that does not exist.
LIST_BOLA_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("listVehicles", "/vehicles", {"owner_id": str(customer_id("lukas"))}),
    ("listInspections", "/inspections", {"vehicle_id": str(LEAF_VEHICLE)}),
    ("listInspections", "/inspections", {"repair_order_id": str(LEAF_ORDER)}),
    ("listRepairOrders", "/repair-orders", {"customer_id": str(customer_id("lukas"))}),
]
# Lists that take no one's id: a customer's rows are limited to their own (tests above).
LIST_OWN_ROWS = {"listCustomers", "listVehicles", "listInspections", "listRepairOrders"}


@pytest.mark.parametrize(("operation", "path", "params"), LIST_BOLA_CASES)
def test_naming_another_customers_record_in_a_list_is_a_404_that_leaks_nothing(
    sqlite_api: Api, operation: str, path: str, params: dict[str, str]
) -> None:
    stolen = get(sqlite_api, path, "sanne", **params)
    assert stolen.status_code == 404, (operation, stolen.text)
    assert not [leak for leak in LEAKS if leak in stolen.text]
    missing = get(sqlite_api, path, "sanne", **dict.fromkeys(params, str(uuid4())))
    assert missing.status_code == 404
    assert missing.json()["title"] == stolen.json()["title"]
    owned = get(sqlite_api, path, "lukas", **params)
    assert owned.status_code == 200, owned.text
    assert owned.json()["items"]


def test_a_garbage_cursor_is_a_422(sqlite_api: Api) -> None:
    for path in ("/customers", "/vehicles", "/staff", "/inspections", "/repair-orders"):
        response = get(sqlite_api, path, cursor="not-a-cursor")
        assert response.status_code == 422, path
        assert response.json()["field"] == "cursor"


def test_a_new_customer_is_found_once_the_read_model_has_its_write(sqlite_api: Api) -> None:
    created = sqlite_api.client.post(
        "/api/v1/customers",
        json={"name": "Zoë Ångström", "email": "zoe@example.se", "phone": "+46 70 123 4567"},
        headers=sqlite_api.auth("eva"),
    )
    assert created.status_code == 201, created.text
    sqlite_api.catch_up()
    found = items(sqlite_api, "/customers", q="ÅNGS")
    assert [c["email"] for c in found] == ["zoe@example.se"]
    assert [c["name"] for c in items(sqlite_api, "/customers", q="4670")] == ["Zoë Ångström"]


def test_the_inspection_template_lists_items_and_their_measurements(api: Api) -> None:
    response = get(api, "/inspection-template", "sanne")
    assert response.status_code == 200, response.text
    template = response.json()
    assert (template["code"], template["version"]) == ("ev_inspection", 1)
    assert template["ratings"] == ["green", "amber", "red", "not_applicable"]
    items_by_code = {i["code"]: i for s in template["sections"] for i in s["items"]}
    isolation = items_by_code["battery.isolation"]
    assert isolation["hv_system"] is True
    kinds = {m["kind"]: m for m in isolation["measurements"]}
    assert kinds["isolation_resistance_mohm"]["unit"] == "MOhm"
    assert kinds["isolation_resistance_mohm"]["test_voltage_v"]["required"] is True
    assert kinds["pack_voltage_v"] == {"kind": "pack_voltage_v", "unit": "V", "min": "0",
                                       "max": "1000"}  # fmt: skip
    assert all(code.startswith(code.split(".")[0] + ".") for code in items_by_code)
    assert get(api, "/inspection-template", version=2).status_code == 404
    assert get(api, "/inspection-template", code="Bad Code").status_code == 400


def test_a_search_of_only_control_characters_matches_nothing_not_everyone(api: Api) -> None:
    # Control characters are dropped from search keys; what is left is the empty prefix,
    # which every key starts with.
    assert items(api, "/customers", q="\x01") == []
    assert items(api, "/customers", q=" \x7f\t") == []
