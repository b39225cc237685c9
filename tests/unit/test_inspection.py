"""Rules of the digital vehicle inspection, each tried with the input that would break it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regenzet.domain import inspection as inspection_module
from regenzet.domain import media as media_module
from regenzet.domain.common import (
    Actor,
    DomainValidationError,
    InvalidStateError,
    Role,
    RuleViolationError,
)
from regenzet.domain.inspection import (
    CELL_BALANCING_JOB,
    ISOLATION_FAULT_JOB,
    MEASUREMENT_RANGES,
    MEASUREMENT_UNITS,
    Inspection,
    IsolationCircuit,
    Measurement,
    MeasurementKind,
    Rating,
    RecommendedJob,
)
from regenzet.domain.inspection_template import (
    InspectionTemplate,
    TemplateItem,
    TemplateSection,
    load_template,
)
from regenzet.domain.media import MediaAttachment, MediaUpload

TECHNICIAN = Actor("tech-1", Role.TECHNICIAN)
ADVISOR = Actor("advisor-1", Role.ADVISOR)
SHA = "a" * 64
HV_ITEM = "battery.hv_pack_visual"
LV_ITEM = "tyres.wear_pattern"
OPTIONAL_ITEM = "software.ota_pending"
ISOLATION = MeasurementKind.ISOLATION_RESISTANCE_MOHM
CELL_DELTA = MeasurementKind.CELL_VOLTAGE_DELTA_MV


def start(nominal_voltage_v: str = "400", **overrides: Any) -> Inspection:
    kwargs: dict[str, Any] = {
        "vehicle_id": uuid4(),
        "repair_order_id": uuid4(),
        "technician_id": uuid4(),
        "template": load_template(),
        "nominal_voltage_v": Decimal(nominal_voltage_v),
        "actor": TECHNICIAN,
    }
    kwargs.update(overrides)
    return Inspection.start(**kwargs)


def measure(
    inspection: Inspection,
    kind: MeasurementKind,
    value: str | Decimal,
    *,
    unit: str | None = None,
    item_code: str | None = None,
    test_voltage_v: str | None = None,
    circuit: IsolationCircuit | None = None,
) -> Measurement:
    inspection.record_measurement(
        kind=kind,
        value=Decimal(value),
        unit=MEASUREMENT_UNITS[kind] if unit is None else unit,
        item_code=item_code,
        test_voltage_v=None if test_voltage_v is None else Decimal(test_voltage_v),
        circuit=circuit,
        actor=TECHNICIAN,
    )
    return inspection.measurements[-1]


def isolation(
    inspection: Inspection, mohm: str | Decimal, circuit: IsolationCircuit | None = None
) -> Measurement:
    return measure(
        inspection,
        ISOLATION,
        mohm,
        item_code="battery.isolation",
        test_voltage_v="500",
        circuit=circuit,
    )


def rate_all_required(inspection: Inspection, rating: Rating = Rating.GREEN) -> None:
    for code in load_template().required_codes:
        inspection.rate_item(item_code=code, rating=rating, note="checked", actor=TECHNICIAN)


def completed() -> Inspection:
    inspection = start()
    rate_all_required(inspection)
    inspection.complete(actor=TECHNICIAN)
    return inspection


def request_upload(inspection: Inspection, **overrides: Any) -> UUID:
    kwargs: dict[str, Any] = {
        "media_id": uuid4(),
        "item_code": HV_ITEM,
        "file_name": "pack.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 1024,
        "sha256": SHA,
        "key": "pending/inspections/x/y",
        "actor": TECHNICIAN,
    }
    kwargs.update(overrides)
    inspection.request_media_upload(**kwargs)
    media_id: UUID = kwargs["media_id"]
    return media_id


def attach(inspection: Inspection, **overrides: Any) -> UUID:
    """Requests an upload and confirms it, as the confirm step does once the bytes passed."""
    media_id = request_upload(inspection, **overrides)
    inspection.attach_media(
        media_id=media_id, width=4000, height=3000, duration_s=None, key="media/x", actor=TECHNICIAN
    )
    return media_id


def event_names(inspection: Inspection) -> list[str]:
    return [type(e).__name__ for e in inspection.collect_events()]


# -- starting -------------------------------------------------------------------------------


def test_started_event_records_the_template_by_code_and_version_only() -> None:
    inspection = start()

    (started,) = inspection.collect_events()
    assert type(started).__name__ == "Started"
    assert started.template_code == "ev_inspection"  # type: ignore[attr-defined]
    assert started.template_version == 1  # type: ignore[attr-defined]
    assert not any(isinstance(v, InspectionTemplate) for v in vars(started).values())
    assert inspection.template is load_template()


def test_a_chosen_id_is_kept() -> None:
    chosen = uuid4()
    assert start(id=chosen).id == chosen


def test_start_refuses_a_template_that_is_not_the_packaged_one() -> None:
    altered = attrs.evolve(load_template(), title="Home-made checklist")

    with pytest.raises(DomainValidationError) as caught:
        start(template=altered)
    assert caught.value.field == "template"


def test_start_refuses_an_unpackaged_template_version() -> None:
    item = TemplateItem("battery.x", "X", True, True, "Fix X")
    other = InspectionTemplate(
        "ev_inspection", 7, "V7", (TemplateSection("battery", "B", (item,)),)
    )

    with pytest.raises(DomainValidationError) as caught:
        start(template=other)
    assert caught.value.field == "template"


@pytest.mark.parametrize("nominal", ["0", "47.9", "1000.1", "-400", "NaN"])
def test_start_refuses_an_impossible_nominal_pack_voltage(nominal: str) -> None:
    with pytest.raises(DomainValidationError) as caught:
        start(nominal_voltage_v=nominal)
    assert caught.value.field == "nominal_voltage_v"


def test_start_refuses_ids_that_are_not_uuids() -> None:
    with pytest.raises(DomainValidationError) as caught:
        start(vehicle_id="car-1")
    assert caught.value.field == "vehicle_id"


# -- isolation pass/fail is computed, at the boundary ---------------------------------------


def test_isolation_exactly_100_ohm_per_volt_on_a_400_v_pack_passes_dc() -> None:
    reading = isolation(start("400"), "0.04")  # 40 kΩ / 400 V = 100 Ω/V

    assert reading.ohm_per_volt == Decimal("100.00")
    assert reading.passed is True
    assert reading.flag is None
    assert reading.circuit is IsolationCircuit.DC


def test_isolation_just_below_100_ohm_per_volt_fails_dc_and_flags_red() -> None:
    reading = isolation(start("400"), "0.0399")  # 99.75 Ω/V

    assert reading.ohm_per_volt == Decimal("99.75")
    assert reading.passed is False
    assert reading.flag is Rating.RED


def test_isolation_a_hair_below_the_limit_never_rounds_up_to_a_pass() -> None:
    # Six decimals is the most a reading carries (the canonical decimal format).
    reading = isolation(start("400"), "0.039999")  # 99.9975 Ω/V

    assert reading.passed is False
    assert reading.ohm_per_volt is not None
    assert reading.ohm_per_volt < 100


def test_ac_circuits_need_500_ohm_per_volt() -> None:
    inspection = start("400")

    dc_level_on_ac = isolation(inspection, "0.04", IsolationCircuit.AC)
    at_ac_limit = isolation(inspection, "0.2", IsolationCircuit.AC)  # 500 Ω/V
    below_ac_limit = isolation(inspection, "0.1999", IsolationCircuit.AC)

    assert dc_level_on_ac.passed is False
    assert at_ac_limit.passed is True
    assert below_ac_limit.passed is False
    assert below_ac_limit.flag is Rating.RED


def test_isolation_verdict_depends_on_the_vehicles_nominal_voltage() -> None:
    on_800_v = isolation(start("800"), "0.04")  # 50 Ω/V

    assert on_800_v.ohm_per_volt == Decimal("50.00")
    assert on_800_v.passed is False


def test_the_recorded_event_carries_the_computed_verdict() -> None:
    inspection = start("400")
    isolation(inspection, "0.0399")

    recorded = inspection.collect_events()[-1]
    assert type(recorded).__name__ == "MeasurementRecorded"
    assert recorded.ohm_per_volt == Decimal("99.75")  # type: ignore[attr-defined]
    assert recorded.passed is False  # type: ignore[attr-defined]
    assert recorded.flag is Rating.RED  # type: ignore[attr-defined]


@given(
    mohm=st.decimals(min_value=0, max_value=100_000, places=6),
    nominal=st.decimals(min_value=48, max_value=1000, places=1),
    circuit=st.sampled_from(IsolationCircuit),
)
def test_isolation_passes_exactly_when_resistance_reaches_the_limit_times_voltage(
    mohm: Decimal, nominal: Decimal, circuit: IsolationCircuit
) -> None:
    reading = isolation(start(str(nominal)), mohm, circuit)

    limit = {IsolationCircuit.DC: 100, IsolationCircuit.AC: 500}[circuit]
    assert reading.passed is (mohm * 1_000_000 >= limit * nominal)
    assert (reading.flag is Rating.RED) is (not reading.passed)


def test_isolation_needs_the_test_voltage() -> None:
    with pytest.raises(DomainValidationError) as caught:
        measure(start(), ISOLATION, "5")
    assert caught.value.field == "test_voltage_v"
    assert "tester" in caught.value.message


@pytest.mark.parametrize("volts", ["0", "49", "1501"])
def test_isolation_test_voltage_must_be_one_a_tester_can_apply(volts: str) -> None:
    with pytest.raises(DomainValidationError) as caught:
        measure(start(), ISOLATION, "5", test_voltage_v=volts)
    assert caught.value.field == "test_voltage_v"


def test_isolation_circuit_must_be_dc_or_ac() -> None:
    with pytest.raises(DomainValidationError) as caught:
        measure(start(), ISOLATION, "5", test_voltage_v="500", circuit="hv")  # type: ignore[arg-type]
    assert caught.value.field == "circuit"


def test_test_voltage_and_circuit_belong_to_isolation_only() -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        measure(inspection, MeasurementKind.SOH_PCT, "90", test_voltage_v="500")
    assert caught.value.field == "test_voltage_v"
    with pytest.raises(DomainValidationError) as caught:
        measure(inspection, MeasurementKind.SOH_PCT, "90", circuit=IsolationCircuit.DC)
    assert caught.value.field == "circuit"


# -- units and physical ranges --------------------------------------------------------------


def test_every_kind_has_exactly_one_unit_and_a_range() -> None:
    assert set(MEASUREMENT_UNITS) == set(MeasurementKind)
    assert set(MEASUREMENT_RANGES) == set(MeasurementKind)
    assert MEASUREMENT_UNITS[MeasurementKind.COOLANT_TEMP_C] == "degC"
    assert MEASUREMENT_UNITS[ISOLATION] == "MOhm"


@pytest.mark.parametrize(
    ("kind", "wrong_unit"),
    [
        (MeasurementKind.SOH_PCT, "percent"),
        (MeasurementKind.SOC_PCT, "kWh"),
        (MeasurementKind.PACK_VOLTAGE_V, "mV"),
        (ISOLATION, "kOhm"),
        (ISOLATION, "mohm"),
        (CELL_DELTA, "V"),
        (MeasurementKind.TYRE_TREAD_MM, "in"),
        (MeasurementKind.TYRE_PRESSURE_PSI, "bar"),
        (MeasurementKind.BRAKE_PAD_MM, "cm"),
        (MeasurementKind.COOLANT_TEMP_C, "degF"),
    ],
)
def test_a_reading_in_the_wrong_unit_is_refused(kind: MeasurementKind, wrong_unit: str) -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        measure(inspection, kind, "1", unit=wrong_unit, test_voltage_v=_tv(kind))
    assert caught.value.field == "unit"
    assert inspection.measurements == []


def _tv(kind: MeasurementKind) -> str | None:
    return "500" if kind is ISOLATION else None


@given(kind=st.sampled_from(MeasurementKind), data=st.data())
def test_readings_inside_the_physical_range_are_accepted(
    kind: MeasurementKind, data: st.DataObject
) -> None:
    low, high = MEASUREMENT_RANGES[kind]
    value = data.draw(st.decimals(min_value=low, max_value=high, places=3))

    reading = measure(start(), kind, value, test_voltage_v=_tv(kind))

    assert reading.value == value
    assert reading.unit == MEASUREMENT_UNITS[kind]


@given(kind=st.sampled_from(MeasurementKind), data=st.data())
def test_readings_outside_the_physical_range_are_refused(
    kind: MeasurementKind, data: st.DataObject
) -> None:
    low, high = MEASUREMENT_RANGES[kind]
    step = Decimal("0.001")
    value = data.draw(
        st.one_of(
            st.decimals(max_value=low - step, places=3, allow_nan=False, allow_infinity=False),
            st.decimals(min_value=high + step, places=3, allow_nan=False, allow_infinity=False),
        )
    )
    inspection = start()

    with pytest.raises(DomainValidationError) as caught:
        measure(inspection, kind, value, test_voltage_v=_tv(kind))
    assert caught.value.field == "value"
    assert inspection.measurements == []


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (MeasurementKind.SOH_PCT, "100.01"),
        (MeasurementKind.SOC_PCT, "-0.1"),
        (MeasurementKind.PACK_VOLTAGE_V, "1000.5"),
        (ISOLATION, "100001"),
        (CELL_DELTA, "1001"),
        (MeasurementKind.TYRE_TREAD_MM, "20.1"),
        (MeasurementKind.TYRE_PRESSURE_PSI, "101"),
        (MeasurementKind.BRAKE_PAD_MM, "31"),
        (MeasurementKind.COOLANT_TEMP_C, "-40.5"),
        (MeasurementKind.COOLANT_TEMP_C, "151"),
    ],
)
def test_each_kind_has_its_own_physical_limits(kind: MeasurementKind, value: str) -> None:
    with pytest.raises(DomainValidationError):
        measure(start(), kind, value, test_voltage_v=_tv(kind))


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("sNaN")])
def test_non_finite_readings_are_refused(value: Decimal) -> None:
    with pytest.raises(DomainValidationError):
        measure(start(), MeasurementKind.SOC_PCT, value)


def test_a_float_reading_is_refused_so_binary_rounding_never_reaches_an_event() -> None:
    with pytest.raises(DomainValidationError):
        start().record_measurement(
            kind=MeasurementKind.SOC_PCT,
            value=80.1,  # type: ignore[arg-type]
            unit="%",
            item_code=None,
            test_voltage_v=None,
            circuit=None,
            actor=TECHNICIAN,
        )


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(DomainValidationError) as caught:
        measure(start(), "range_km", "300", unit="km")  # type: ignore[arg-type]
    assert caught.value.field == "kind"


def test_a_measurement_on_an_unknown_item_is_refused() -> None:
    with pytest.raises(DomainValidationError) as caught:
        measure(start(), MeasurementKind.TYRE_TREAD_MM, "4", item_code="tyres.spare_wheel")
    assert caught.value.field == "item_code"


def test_measurements_are_numbered_in_sequence() -> None:
    inspection = start()
    measure(inspection, MeasurementKind.SOH_PCT, "91")
    measure(inspection, MeasurementKind.TYRE_TREAD_MM, "4.5", item_code="tyres.tread")
    isolation(inspection, "50")

    assert [m.measurement_id for m in inspection.measurements] == [1, 2, 3]


# -- cell balance ---------------------------------------------------------------------------


def test_cell_delta_of_51_mv_flags_amber_for_rebalancing() -> None:
    assert measure(start(), CELL_DELTA, "51").flag is Rating.AMBER


def test_cell_delta_of_exactly_50_mv_is_not_flagged() -> None:
    assert measure(start(), CELL_DELTA, "50").flag is None


def test_cell_delta_just_above_50_mv_is_flagged() -> None:
    assert measure(start(), CELL_DELTA, "50.001").flag is Rating.AMBER


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (MeasurementKind.TYRE_TREAD_MM, "0.5"),
        (MeasurementKind.SOH_PCT, "51"),
        (MeasurementKind.BRAKE_PAD_MM, "1"),
        (MeasurementKind.PACK_VOLTAGE_V, "51"),
    ],
)
def test_other_kinds_are_recorded_without_a_verdict(kind: MeasurementKind, value: str) -> None:
    reading = measure(start(), kind, value)
    assert (reading.flag, reading.passed, reading.ohm_per_volt) == (None, None, None)


# -- ratings --------------------------------------------------------------------------------


@pytest.mark.parametrize("note", [None, "", "   "])
def test_red_on_an_hv_system_item_without_a_note_is_refused(note: str | None) -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        inspection.rate_item(item_code=HV_ITEM, rating=Rating.RED, note=note, actor=TECHNICIAN)
    assert caught.value.field == "note"
    assert inspection.ratings == {}


def test_red_on_an_hv_system_item_with_a_note_is_recorded() -> None:
    inspection = start()
    inspection.rate_item(
        item_code=HV_ITEM, rating=Rating.RED, note="  Dent in pack tray  ", actor=TECHNICIAN
    )
    assert inspection.ratings[HV_ITEM] == {"rating": Rating.RED, "note": "Dent in pack tray"}


def test_red_on_a_low_voltage_item_needs_no_note() -> None:
    inspection = start()
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.RED, note=None, actor=TECHNICIAN)
    assert inspection.ratings[LV_ITEM] == {"rating": Rating.RED, "note": None}


def test_amber_on_an_hv_system_item_needs_no_note() -> None:
    inspection = start()
    inspection.rate_item(item_code=HV_ITEM, rating=Rating.AMBER, note=None, actor=TECHNICIAN)
    assert inspection.ratings[HV_ITEM]["rating"] is Rating.AMBER


def test_rating_an_item_that_is_not_in_the_template_is_refused() -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        inspection.rate_item(
            item_code="engine.oil_level", rating=Rating.GREEN, note=None, actor=TECHNICIAN
        )
    assert caught.value.field == "item_code"


def test_an_unknown_rating_is_refused() -> None:
    with pytest.raises(DomainValidationError) as caught:
        start().rate_item(
            item_code=LV_ITEM,
            rating="purple",  # type: ignore[arg-type]
            note=None,
            actor=TECHNICIAN,
        )
    assert caught.value.field == "rating"


def test_an_overlong_note_is_refused() -> None:
    with pytest.raises(DomainValidationError) as caught:
        start().rate_item(item_code=LV_ITEM, rating=Rating.AMBER, note="x" * 2001, actor=TECHNICIAN)
    assert caught.value.field == "note"


def test_re_rating_an_item_before_completion_replaces_the_earlier_rating() -> None:
    inspection = start()
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.RED, note=None, actor=TECHNICIAN)
    inspection.rate_item(
        item_code=LV_ITEM, rating=Rating.GREEN, note="re-checked", actor=TECHNICIAN
    )

    assert inspection.ratings[LV_ITEM] == {"rating": Rating.GREEN, "note": "re-checked"}
    assert event_names(inspection).count("ItemRated") == 2


# -- media ----------------------------------------------------------------------------------


def test_media_is_attached_to_an_item_once_confirmed() -> None:
    inspection = start()
    media_id = request_upload(
        inspection, content_type="video/mp4", size_bytes=500 * 1024 * 1024, file_name="a.mp4"
    )
    assert inspection.media == []
    assert str(media_id) in inspection.media_uploads

    inspection.attach_media(
        media_id=media_id,
        width=None,
        height=None,
        duration_s=Decimal("12.5"),
        key="media/inspections/i/m/original",
        actor=TECHNICIAN,
    )

    (attached,) = inspection.media
    assert (attached.media_id, attached.item_code, attached.content_type) == (
        media_id,
        HV_ITEM,
        "video/mp4",
    )
    assert (attached.size_bytes, attached.sha256, attached.file_name) == (
        500 * 1024 * 1024,
        SHA,
        "a.mp4",
    )
    assert attached.duration_s == Decimal("12.500")
    assert attached.key == "media/inspections/i/m/original"
    assert attached.attached_by == TECHNICIAN
    assert attached.attached_at is not None  # the event's own time
    assert inspection.media_uploads == {}


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("content_type", {"content_type": "application/pdf"}),
        ("content_type", {"content_type": "image/gif"}),
        ("content_type", {"content_type": "image/svg+xml"}),
        ("size_bytes", {"size_bytes": 0}),
        ("size_bytes", {"size_bytes": 500 * 1024 * 1024 + 1}),
        ("size_bytes", {"size_bytes": True}),
        ("sha256", {"sha256": "A" * 64}),
        ("sha256", {"sha256": "a" * 63}),
        ("sha256", {"sha256": "g" * 64}),
        ("item_code", {"item_code": "battery.unknown"}),
        ("media_id", {"media_id": "photo-1"}),
        ("file_name", {"file_name": ""}),
        ("file_name", {"file_name": "../../etc/passwd"}),
        ("file_name", {"file_name": "C:\\photos\\a.jpg"}),
        ("file_name", {"file_name": "a\x00.jpg"}),
        ("file_name", {"file_name": ".."}),
        ("file_name", {"file_name": "x" * 201}),
    ],
)
def test_bad_upload_requests_are_refused(field: str, overrides: dict[str, Any]) -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        request_upload(inspection, **overrides)
    assert caught.value.field == field
    assert inspection.media_uploads == {}
    assert inspection.media == []


def test_the_same_media_id_cannot_be_requested_twice() -> None:
    inspection = start()
    media_id = attach(inspection)

    with pytest.raises(DomainValidationError) as caught:
        request_upload(inspection, media_id=media_id)
    assert caught.value.field == "media_id"


def test_only_a_requested_upload_can_be_attached() -> None:
    inspection = start()
    with pytest.raises(DomainValidationError) as caught:
        inspection.attach_media(
            media_id=uuid4(), width=1, height=1, duration_s=None, key="media/x", actor=TECHNICIAN
        )
    assert caught.value.field == "media_id"
    assert inspection.media == []


def test_media_may_belong_to_the_inspection_rather_than_an_item() -> None:
    inspection = start()
    attach(inspection, item_code=None)
    assert inspection.media[0].item_code is None


def test_an_upload_requested_in_progress_may_be_confirmed_after_completion() -> None:
    inspection = start()
    rate_all_required(inspection)
    media_id = request_upload(inspection)
    inspection.complete(actor=TECHNICIAN)

    inspection.attach_media(
        media_id=media_id, width=10, height=10, duration_s=None, key="media/x", actor=TECHNICIAN
    )
    assert [m.media_id for m in inspection.media] == [media_id]


def test_markup_is_recorded_over_an_attached_photo_and_can_be_cleared() -> None:
    inspection = start()
    media_id = attach(inspection)
    arrow = {"kind": "arrow", "points": [[0.1, 0.2], [0.5, 1]], "colour": "#ff0000", "label": None}
    text = {"kind": "text", "points": [[0.3, 0.3]], "colour": "#00ff00", "label": "Corrosion"}

    inspection.annotate_media(media_id=media_id, shapes=[arrow, text], actor=TECHNICIAN)
    (attached,) = inspection.media
    assert attached.annotations == [
        {"kind": "arrow", "points": [[0.1, 0.2], [0.5, 1.0]], "colour": "#ff0000", "label": None},
        text,
    ]
    assert attached.annotated_at is not None

    inspection.annotate_media(media_id=media_id, shapes=[], actor=TECHNICIAN)
    assert inspection.media[0].annotations == []
    assert event_names(inspection).count("MediaAnnotated") == 2


def test_markup_is_allowed_after_completion_and_sharing() -> None:
    inspection = start()
    media_id = attach(inspection)
    rate_all_required(inspection)
    inspection.complete(actor=TECHNICIAN)
    inspection.share_with_customer(actor=ADVISOR)
    shape = {"kind": "ellipse", "points": [[0, 0], [1, 1]], "colour": "#123abc", "label": "Here"}
    inspection.annotate_media(media_id=media_id, shapes=[shape], actor=TECHNICIAN)
    assert len(inspection.media[0].annotations) == 1


def _shape(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "arrow",
        "points": [[0.1, 0.1], [0.2, 0.2]],
        "colour": "#aabbcc",
        "label": None,
    } | changes


@pytest.mark.parametrize(
    ("field", "shapes"),
    [
        ("shapes", "arrow"),
        ("shapes", [_shape()] * 101),
        ("shapes[0].kind", [_shape(kind="star")]),
        ("shapes[0].points", [_shape(points=[[0.1, 0.1]])]),
        ("shapes[0].points", [_shape(kind="ellipse", points=[[0.1, 0.1]] * 3)]),
        ("shapes[0].points", [_shape(kind="freehand", points=[[0.1, 0.1]] * 501)]),
        ("shapes[0].points", [_shape(kind="text", points=[], label="x")]),
        ("shapes[0].points[1]", [_shape(points=[[0.1, 0.1], [1.5, 0.2]])]),
        ("shapes[0].points[1]", [_shape(points=[[0.1, 0.1], [-0.01, 0.2]])]),
        ("shapes[0].points[1]", [_shape(points=[[0.1, 0.1], [float("nan"), 0.2]])]),
        ("shapes[0].points[1]", [_shape(points=[[0.1, 0.1], [True, 0.2]])]),
        ("shapes[0].points[1]", [_shape(points=[[0.1, 0.1], [0.2]])]),
        ("shapes[0].colour", [_shape(colour="red")]),
        ("shapes[0].colour", [_shape(colour="#FFAA00")]),
        ("shapes[0].label", [_shape(kind="text", points=[[0.5, 0.5]])]),
        ("shapes[0].label", [_shape(label="x" * 201)]),
        ("shapes[0].label", [_shape(label="   ")]),
        ("shapes[1].extra", [_shape(), _shape(extra=1)]),
    ],
)
def test_bad_markup_is_refused(field: str, shapes: Any) -> None:
    inspection = start()
    media_id = attach(inspection)
    with pytest.raises(DomainValidationError) as caught:
        inspection.annotate_media(media_id=media_id, shapes=shapes, actor=TECHNICIAN)
    assert caught.value.field == field
    assert inspection.media[0].annotations == []


def test_videos_and_unconfirmed_uploads_cannot_be_annotated() -> None:
    inspection = start()
    video = attach(inspection, content_type="video/mp4", file_name="walk.mp4")
    pending = request_upload(inspection)
    for media_id in (video, pending, uuid4()):
        with pytest.raises(DomainValidationError) as caught:
            inspection.annotate_media(media_id=media_id, shapes=[_shape()], actor=TECHNICIAN)
        assert caught.value.field == "media_id"


# -- completion -----------------------------------------------------------------------------


def test_completing_with_a_required_item_unrated_is_refused() -> None:
    inspection = start()
    for code in load_template().required_codes:
        if code != HV_ITEM:
            inspection.rate_item(item_code=code, rating=Rating.GREEN, note=None, actor=TECHNICIAN)

    with pytest.raises(RuleViolationError) as caught:
        inspection.complete(actor=TECHNICIAN)
    assert caught.value.rule == "required_items_unrated"
    assert HV_ITEM in caught.value.message
    assert not inspection.completed


def test_a_fresh_inspection_cannot_be_completed() -> None:
    inspection = start()
    with pytest.raises(RuleViolationError) as caught:
        inspection.complete(actor=TECHNICIAN)
    assert caught.value.rule == "required_items_unrated"
    assert inspection.unrated_required_codes() == load_template().required_codes


def test_optional_items_may_stay_unrated() -> None:
    inspection = start()
    rate_all_required(inspection)
    inspection.complete(actor=TECHNICIAN)

    assert OPTIONAL_ITEM not in inspection.ratings
    assert inspection.completed
    assert inspection.status == "completed"


def test_not_applicable_counts_as_rated() -> None:
    inspection = start()
    rate_all_required(inspection, Rating.NOT_APPLICABLE)
    inspection.complete(actor=TECHNICIAN)
    assert inspection.completed


def test_an_inspection_cannot_be_completed_twice() -> None:
    inspection = completed()
    with pytest.raises(InvalidStateError) as caught:
        inspection.complete(actor=TECHNICIAN)
    assert caught.value.current_state == "completed"


def test_no_rating_after_completion() -> None:
    inspection = completed()
    with pytest.raises(InvalidStateError) as caught:
        inspection.rate_item(item_code=LV_ITEM, rating=Rating.RED, note=None, actor=TECHNICIAN)
    assert caught.value.current_state == "completed"
    assert inspection.ratings[LV_ITEM]["rating"] is Rating.GREEN


def test_no_rating_of_an_optional_item_after_completion() -> None:
    inspection = completed()
    with pytest.raises(InvalidStateError):
        inspection.rate_item(
            item_code=OPTIONAL_ITEM, rating=Rating.GREEN, note=None, actor=TECHNICIAN
        )
    assert OPTIONAL_ITEM not in inspection.ratings


def test_no_measurement_after_completion() -> None:
    inspection = completed()
    with pytest.raises(InvalidStateError) as caught:
        measure(inspection, MeasurementKind.SOH_PCT, "90")
    assert caught.value.current_state == "completed"
    assert inspection.measurements == []


def test_no_upload_requests_after_completion() -> None:
    inspection = completed()
    with pytest.raises(InvalidStateError) as caught:
        request_upload(inspection)
    assert caught.value.current_state == "completed"
    assert inspection.media_uploads == {}


# -- sharing --------------------------------------------------------------------------------


def test_an_inspection_cannot_be_shared_before_completion() -> None:
    inspection = start()
    with pytest.raises(InvalidStateError) as caught:
        inspection.share_with_customer(actor=ADVISOR)
    assert caught.value.current_state == "in_progress"
    assert not inspection.shared


def test_a_completed_inspection_is_shared_once() -> None:
    inspection = completed()
    inspection.share_with_customer(actor=ADVISOR)
    assert inspection.shared

    with pytest.raises(RuleViolationError) as caught:
        inspection.share_with_customer(actor=ADVISOR)
    assert caught.value.rule == "already_shared"
    assert event_names(inspection).count("SharedWithCustomer") == 1


# -- recommended jobs -----------------------------------------------------------------------


def test_red_and_amber_items_become_recommended_jobs_in_checklist_order() -> None:
    inspection = start()
    template = load_template()
    inspection.rate_item(item_code="tyres.tread", rating=Rating.AMBER, note=None, actor=TECHNICIAN)
    inspection.rate_item(item_code=HV_ITEM, rating=Rating.RED, note="Cracked", actor=TECHNICIAN)
    inspection.rate_item(item_code="brakes.fluid", rating=Rating.GREEN, note=None, actor=TECHNICIAN)
    inspection.rate_item(
        item_code="cooling.pump", rating=Rating.NOT_APPLICABLE, note=None, actor=TECHNICIAN
    )

    jobs = inspection.recommended_jobs()

    assert [(j.item_code, j.title, j.severity) for j in jobs] == [
        (HV_ITEM, template.item(HV_ITEM).recommended_job, Rating.RED),
        ("tyres.tread", template.item("tyres.tread").recommended_job, Rating.AMBER),
    ]
    assert "Cracked" in jobs[0].reason


def test_an_item_re_rated_green_no_longer_recommends_a_job() -> None:
    inspection = start()
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.RED, note=None, actor=TECHNICIAN)
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.GREEN, note=None, actor=TECHNICIAN)
    assert inspection.recommended_jobs() == []


def test_a_failed_isolation_recommends_hv_isolation_fault_diagnosis() -> None:
    inspection = start("400")
    isolation(inspection, "0.0399")

    (job,) = inspection.recommended_jobs()
    assert job == RecommendedJob(
        item_code="battery.isolation",
        title=ISOLATION_FAULT_JOB,
        severity=Rating.RED,
        reason=job.reason,
    )
    assert ISOLATION_FAULT_JOB == "HV isolation fault diagnosis"
    assert "99.75" in job.reason


def test_an_unbalanced_pack_recommends_cell_balancing() -> None:
    inspection = start()
    measure(inspection, CELL_DELTA, "51", item_code="bms.cell_balance")

    (job,) = inspection.recommended_jobs()
    assert (job.title, job.severity) == (CELL_BALANCING_JOB, Rating.AMBER)
    assert CELL_BALANCING_JOB == "Battery cell balancing"


def test_passing_and_unflagged_measurements_recommend_nothing() -> None:
    inspection = start("400")
    isolation(inspection, "0.04")
    measure(inspection, CELL_DELTA, "50")
    measure(inspection, MeasurementKind.TYRE_TREAD_MM, "1.2")
    assert inspection.recommended_jobs() == []


def test_an_item_and_a_measurement_asking_for_the_same_job_give_one_job() -> None:
    inspection = start("400")
    inspection.rate_item(
        item_code="bms.cell_balance", rating=Rating.AMBER, note="drifting", actor=TECHNICIAN
    )
    measure(inspection, CELL_DELTA, "80", item_code="bms.cell_balance")
    measure(inspection, CELL_DELTA, "75", item_code="bms.cell_balance")

    jobs = inspection.recommended_jobs()

    assert [j.title for j in jobs] == [CELL_BALANCING_JOB]
    assert "drifting" in jobs[0].reason
    assert "80" in jobs[0].reason


def test_a_merged_job_keeps_the_worst_severity() -> None:
    inspection = start("400")
    inspection.rate_item(
        item_code="bms.cell_balance", rating=Rating.RED, note="module 3 low", actor=TECHNICIAN
    )
    measure(inspection, CELL_DELTA, "60", item_code="bms.cell_balance")  # amber on its own

    (job,) = inspection.recommended_jobs()
    assert (job.title, job.severity) == (CELL_BALANCING_JOB, Rating.RED)


def test_a_merged_job_is_raised_to_red_by_a_later_red_finding() -> None:
    inspection = start("400")
    inspection.rate_item(
        item_code="battery.isolation", rating=Rating.AMBER, note=None, actor=TECHNICIAN
    )
    isolation(inspection, "0.01")

    (job,) = inspection.recommended_jobs()
    assert (job.title, job.severity) == (ISOLATION_FAULT_JOB, Rating.RED)


# -- events and state -----------------------------------------------------------------------


def test_every_event_records_the_actor() -> None:
    inspection = start()
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.GREEN, note=None, actor=TECHNICIAN)
    isolation(inspection, "10")
    attach(inspection)
    rate_all_required(inspection)
    inspection.complete(actor=TECHNICIAN)
    inspection.share_with_customer(actor=ADVISOR)

    events = inspection.collect_events()

    assert [type(e).__name__ for e in events] == [
        "Started",
        "ItemRated",
        "MeasurementRecorded",
        "MediaUploadRequested",
        "MediaAttached",
        *["ItemRated"] * len(load_template().required_codes),
        "Completed",
        "SharedWithCustomer",
    ]
    assert all(isinstance(e.actor, Actor) for e in events)  # type: ignore[attr-defined]
    assert events[-1].actor == ADVISOR  # type: ignore[attr-defined]


def test_events_replay_to_the_same_state() -> None:
    inspection = start("400")
    inspection.rate_item(item_code=HV_ITEM, rating=Rating.RED, note="Dent", actor=TECHNICIAN)
    isolation(inspection, "0.0399")
    measure(inspection, CELL_DELTA, "60")
    attach(inspection)
    rate_all_required(inspection)
    inspection.complete(actor=TECHNICIAN)
    inspection.share_with_customer(actor=ADVISOR)

    replayed: Any = None
    for recorded in inspection.collect_events():
        replayed = recorded.mutate(replayed)

    assert isinstance(replayed, Inspection)
    assert vars(replayed) == vars(inspection)
    assert replayed.recommended_jobs() == inspection.recommended_jobs()


def _no_tuples(value: Any, path: str) -> None:
    assert not isinstance(value, tuple), path
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), path
            _no_tuples(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_tuples(item, f"{path}[{index}]")
    elif attrs.has(type(value)):
        assert type(value) in [*inspection_module.VALUE_TYPES, *media_module.VALUE_TYPES, Actor]
        assert type(value) is not Actor or path.endswith("_by"), path
        for field in attrs.fields(type(value)):
            _no_tuples(getattr(value, field.name), f"{path}.{field.name}")
    else:
        assert isinstance(
            value, str | int | float | bool | Decimal | UUID | datetime | type(None)
        ) or type(value) in [*inspection_module.ENUMS, Role], path


def test_state_is_json_native_or_registered_value_types() -> None:
    inspection = start()
    inspection.rate_item(item_code=LV_ITEM, rating=Rating.AMBER, note=None, actor=TECHNICIAN)
    isolation(inspection, "0.0399", IsolationCircuit.AC)
    media_id = attach(inspection)
    request_upload(inspection)
    inspection.annotate_media(media_id=media_id, shapes=[_shape()], actor=TECHNICIAN)

    for name, value in vars(inspection).items():
        if name.startswith("_"):  # the library's own id/version/timestamps
            continue
        _no_tuples(value, name)


def test_event_payloads_use_only_registered_value_types() -> None:
    inspection = start()
    isolation(inspection, "0.0399")
    attach(inspection)
    for recorded in inspection.collect_events():
        for name, value in vars(recorded).items():
            if name in {"originator_id", "originator_version", "timestamp", "originator_topic"}:
                continue
            if name == "actor":
                continue  # Actor and Role are registered by the shared common module
            _no_tuples(value, f"{type(recorded).__name__}.{name}")


def test_value_types_and_enums_are_exported_for_transcoding() -> None:
    value_types, enums = inspection_module.VALUE_TYPES, inspection_module.ENUMS
    assert value_types == [Measurement]
    assert [MediaUpload, MediaAttachment] == media_module.VALUE_TYPES
    assert enums == [Rating, MeasurementKind, IsolationCircuit]
    assert all(attrs.has(t) for t in inspection_module.VALUE_TYPES)
    assert InspectionTemplate not in inspection_module.VALUE_TYPES
