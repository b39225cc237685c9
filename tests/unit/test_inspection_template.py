"""The EV inspection template is packaged data with a checked shape."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import pytest

from regenzet.domain import inspection, inspection_template
from regenzet.domain.common import DomainValidationError
from regenzet.domain.inspection import MeasurementKind
from regenzet.domain.inspection_template import (
    InspectionTemplate,
    MalformedTemplateError,
    TemplateItem,
    TemplateSection,
    load_template,
    parse_template,
)

EXPECTED_SECTIONS = [
    "battery",
    "bms",
    "cooling",
    "motor_inverter",
    "brakes",
    "tyres",
    "charge_port",
    "battery_12v",
    "hvac",
    "software",
]


def packaged_json() -> dict[str, Any]:
    resource = resources.files("regenzet.domain") / "templates" / "ev_inspection_v1.json"
    data: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return data


# -- the packaged EV template ---------------------------------------------------------------


def test_default_template_is_the_ev_inspection_version_1() -> None:
    template = load_template()

    assert template.code == "ev_inspection"
    assert template.version == 1
    assert template.title


def test_loading_is_cached_so_every_caller_shares_one_template() -> None:
    assert load_template() is load_template("ev_inspection", 1)


def test_template_has_every_ev_section_of_the_design() -> None:
    assert [s.code for s in load_template().sections] == EXPECTED_SECTIONS


@pytest.mark.parametrize(
    ("section", "expected_items"),
    [
        (
            "battery",
            {
                "battery.hv_pack_visual",
                "battery.hv_connectors_cabling",
                "battery.pack_mounting",
                "battery.pack_coolant_leaks",
            },
        ),
        ("bms", {"bms.fault_codes", "bms.cell_balance"}),
        ("cooling", {"cooling.coolant_level", "cooling.pump", "cooling.radiator"}),
        (
            "motor_inverter",
            {
                "motor_inverter.mounts",
                "motor_inverter.noise",
                "motor_inverter.inverter_cooling",
                "motor_inverter.hv_cable_routing",
            },
        ),
        (
            "brakes",
            {
                "brakes.regen_function",
                "brakes.disc_corrosion",
                "brakes.pads",
                "brakes.callipers",
                "brakes.fluid",
            },
        ),
        ("tyres", {"tyres.tread", "tyres.pressure", "tyres.wear_pattern"}),
        (
            "charge_port",
            {
                "charge_port.pins",
                "charge_port.latch",
                "charge_port.cover",
                "charge_port.charging_test",
            },
        ),
        ("software", {"software.ecu_versions", "software.ota_pending"}),
    ],
)
def test_each_section_covers_the_ev_specific_checks(section: str, expected_items: set[str]) -> None:
    codes = {item.code for item in load_template().section(section).items}
    assert expected_items <= codes


def test_charge_port_section_names_every_connector_standard() -> None:
    title = load_template().section("charge_port").title
    for standard in ("Type 2", "CCS", "NACS", "CHAdeMO"):
        assert standard in title


def test_brakes_section_checks_disc_corrosion_from_under_use() -> None:
    assert "under-use" in load_template().item("brakes.disc_corrosion").title


def test_template_has_about_thirty_items() -> None:
    assert 25 <= len(load_template().items) <= 32


def test_item_codes_are_unique_in_the_packaged_file_itself() -> None:
    codes = [item["code"] for section in packaged_json()["sections"] for item in section["items"]]
    assert len(codes) == len(set(codes))


def test_item_codes_are_dotted_under_their_section() -> None:
    for section in load_template().sections:
        for item in section.items:
            assert item.code.startswith(f"{section.code}.")


def test_every_item_has_a_title_and_a_recommended_job() -> None:
    for item in load_template().items:
        assert item.title.strip()
        assert item.recommended_job.strip()


def test_high_voltage_items_are_flagged_as_hv_system() -> None:
    template = load_template()
    for item in template.section("battery").items:
        assert item.hv_system, item.code
    for code in (
        "bms.cell_balance",
        "charge_port.pins",
        "motor_inverter.hv_cable_routing",
        "motor_inverter.inverter_cooling",
    ):
        assert template.item(code).hv_system
    for code in ("tyres.tread", "brakes.fluid", "battery_12v.condition"):
        assert not template.item(code).hv_system


def test_listed_measurements_are_known_kinds_and_every_kind_has_an_item() -> None:
    listed = {kind for item in load_template().items for kind in item.measurements}
    assert listed == {kind.value for kind in MeasurementKind}


def test_required_codes_are_the_required_items_in_checklist_order() -> None:
    template = load_template()
    assert template.required_codes == [item.code for item in template.items if item.required]
    assert "software.ota_pending" not in template.required_codes
    assert "battery.hv_pack_visual" in template.required_codes


def test_items_are_listed_in_section_order() -> None:
    template = load_template()
    assert template.items == [item for s in template.sections for item in s.items]


def test_item_lookup_returns_the_item() -> None:
    item = load_template().item("battery.hv_pack_visual")
    assert isinstance(item, TemplateItem)
    assert item.hv_system
    assert item.required


@pytest.mark.parametrize("code", ["battery.nope", "battery", "", "BATTERY.HV_PACK_VISUAL"])
def test_item_lookup_refuses_an_unknown_code(code: str) -> None:
    with pytest.raises(DomainValidationError) as caught:
        load_template().item(code)
    assert caught.value.field == "item_code"


def test_template_objects_are_immutable() -> None:
    template = load_template()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        template.title = "changed"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        template.items[0].required = False  # type: ignore[misc]


# -- it is data, not code -------------------------------------------------------------------


@pytest.mark.parametrize("module", [inspection_template, inspection])
def test_item_titles_live_in_packaged_data_not_in_code(module: Any) -> None:
    source = Path(module.__file__).read_text(encoding="utf-8")
    for item in load_template().items:
        assert item.title not in source, item.code


def test_template_file_ships_inside_the_package() -> None:
    resource = resources.files("regenzet.domain") / "templates" / "ev_inspection_v1.json"
    assert resource.is_file()
    assert parse_template(packaged_json()) == load_template()


# -- loading refuses what it cannot trust ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "version"),
    [
        ("ev_inspection", 99),
        ("no_such_template", 1),
        ("../templates/ev_inspection", 1),
        ("EV_INSPECTION", 1),
        ("ev_inspection", 0),
        ("ev_inspection", True),
    ],
)
def test_loading_an_unknown_or_unsafe_template_is_refused(code: str, version: int) -> None:
    with pytest.raises(DomainValidationError) as caught:
        load_template(code, version)
    assert caught.value.field == "template"


def _point_loader_at(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    package = folder / "package"
    (package / "templates").mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(inspection_template.resources, "files", lambda _: package)


def test_a_file_that_is_not_json_is_reported_as_malformed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _point_loader_at(monkeypatch, tmp_path)
    (tmp_path / "package" / "templates" / "broken_v1.json").write_text("{not json")

    with pytest.raises(MalformedTemplateError, match=r"broken_v1\.json"):
        load_template("broken", 1)


def test_a_file_declaring_another_code_or_version_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = packaged_json()  # declares ev_inspection v1
    _point_loader_at(monkeypatch, tmp_path)
    (tmp_path / "package" / "templates" / "renamed_v2.json").write_text(json.dumps(data))

    with pytest.raises(MalformedTemplateError, match="code/version"):
        load_template("renamed", 2)


def test_a_well_formed_file_under_another_name_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = packaged_json()
    expected_items = load_template().items
    _point_loader_at(monkeypatch, tmp_path)
    data["code"], data["version"] = "workshop_extra", 3
    (tmp_path / "package" / "templates" / "workshop_extra_v3.json").write_text(json.dumps(data))

    template = load_template("workshop_extra", 3)

    assert (template.code, template.version) == ("workshop_extra", 3)
    assert template.items == expected_items


def _first_item(data: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = data["sections"][0]["items"][0]
    return item


def _duplicate_item(data: dict[str, Any]) -> None:
    data["sections"][0]["items"].append(copy.deepcopy(_first_item(data)))


def _duplicate_section_with_new_items(data: dict[str, Any]) -> None:
    section = copy.deepcopy(data["sections"][0])
    for item in section["items"]:
        item["code"] += "_again"
    data["sections"].append(section)


MALFORMATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "duplicate item code": _duplicate_item,
    "empty item title": lambda d: _first_item(d).update(title="  "),
    "missing item title": lambda d: _first_item(d).pop("title"),
    "padded item title": lambda d: _first_item(d).update(title=" Pack "),
    "missing recommended job": lambda d: _first_item(d).pop("recommended_job"),
    "hv_system not a boolean": lambda d: _first_item(d).update(hv_system="yes"),
    "required missing": lambda d: _first_item(d).pop("required"),
    "item code outside its section": lambda d: _first_item(d).update(code="tyres.pack"),
    "item code not dotted": lambda d: _first_item(d).update(code="battery_pack"),
    "measurements not a list": lambda d: _first_item(d).update(measurements="soh_pct"),
    "measurement listed twice": lambda d: _first_item(d).update(measurements=["soh_pct"] * 2),
    "duplicate section": _duplicate_section_with_new_items,
    "empty section title": lambda d: d["sections"][0].update(title=""),
    "section without items": lambda d: d["sections"][0].update(items=[]),
    "no sections": lambda d: d.update(sections=[]),
    "template title missing": lambda d: d.pop("title"),
    "version not a number": lambda d: d.update(version="1"),
    "version zero": lambda d: d.update(version=0),
    "item not an object": lambda d: d["sections"][0]["items"].append("battery.extra"),
}


@pytest.mark.parametrize("malformation", list(MALFORMATIONS), ids=list(MALFORMATIONS))
def test_malformed_template_data_is_refused_with_a_clear_error(malformation: str) -> None:
    data = packaged_json()
    MALFORMATIONS[malformation](data)

    with pytest.raises(MalformedTemplateError) as caught:
        parse_template(data, source="test.json")
    assert "test.json" in str(caught.value)
    assert caught.value.where


def test_the_template_itself_refuses_a_code_repeated_across_sections() -> None:
    first = load_template().items[0]
    section_a = TemplateSection(code="battery", title="A", items=(first,))
    section_b = TemplateSection(code="bms", title="B", items=(first,))

    with pytest.raises(MalformedTemplateError, match="duplicate item code"):
        InspectionTemplate(code="x", version=1, title="X", sections=(section_a, section_b))


def test_a_json_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(MalformedTemplateError):
        parse_template([], source="list.json")
