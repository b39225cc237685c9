"""The digital vehicle inspection of an EV: ratings, measurements and media on a template.

The checklist itself is data (see ``inspection_template``); events record only the template's
code and version, and the aggregate re-loads the template when it needs an item. What the domain
decides here is what must never be typed by hand: whether an isolation measurement passes
(computed from the resistance and the pack's nominal voltage), whether a cell imbalance needs
rebalancing, and which jobs the advisor should be offered.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import (
    Actor,
    InvalidStateError,
    canonical_copy,
    check_decimal,
    check_decimal_range,
    check_text,
    fail,
    violate,
)
from regenzet.domain.inspection_template import InspectionTemplate, load_template
from regenzet.domain.media import (
    MEDIA_CONTENT_TYPES,
    MediaAttachment,
    MediaUpload,
    Shape,
    check_content_type,
    check_dimension,
    check_duration,
    check_file_name,
    check_key,
    check_media_id,
    check_new_media,
    check_sha256,
    check_shapes,
    check_size,
    waiting_upload,
)


class Rating(Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NOT_APPLICABLE = "not_applicable"


class MeasurementKind(Enum):
    SOH_PCT = "soh_pct"
    SOC_PCT = "soc_pct"
    PACK_VOLTAGE_V = "pack_voltage_v"
    ISOLATION_RESISTANCE_MOHM = "isolation_resistance_mohm"
    CELL_VOLTAGE_DELTA_MV = "cell_voltage_delta_mv"
    TYRE_TREAD_MM = "tyre_tread_mm"
    TYRE_PRESSURE_PSI = "tyre_pressure_psi"
    BRAKE_PAD_MM = "brake_pad_mm"
    COOLANT_TEMP_C = "coolant_temp_c"


class IsolationCircuit(Enum):
    DC = "dc"
    AC = "ac"


# Each kind is accepted in exactly one unit: converting silently is how a psi reading ends up
# stored as bar. Units are ASCII so they survive every terminal and CSV export.
MEASUREMENT_UNITS: dict[MeasurementKind, str] = {
    MeasurementKind.SOH_PCT: "%",
    MeasurementKind.SOC_PCT: "%",
    MeasurementKind.PACK_VOLTAGE_V: "V",
    MeasurementKind.ISOLATION_RESISTANCE_MOHM: "MOhm",
    MeasurementKind.CELL_VOLTAGE_DELTA_MV: "mV",
    MeasurementKind.TYRE_TREAD_MM: "mm",
    MeasurementKind.TYRE_PRESSURE_PSI: "psi",
    MeasurementKind.BRAKE_PAD_MM: "mm",
    MeasurementKind.COOLANT_TEMP_C: "degC",
}

# Physically possible readings (inclusive); anything outside is a typo or a broken probe.
MEASUREMENT_RANGES: dict[MeasurementKind, tuple[Decimal, Decimal]] = {
    MeasurementKind.SOH_PCT: (Decimal("0"), Decimal("100")),
    MeasurementKind.SOC_PCT: (Decimal("0"), Decimal("100")),
    MeasurementKind.PACK_VOLTAGE_V: (Decimal("0"), Decimal("1000")),
    MeasurementKind.ISOLATION_RESISTANCE_MOHM: (Decimal("0"), Decimal("100000")),
    MeasurementKind.CELL_VOLTAGE_DELTA_MV: (Decimal("0"), Decimal("1000")),
    MeasurementKind.TYRE_TREAD_MM: (Decimal("0"), Decimal("20")),
    MeasurementKind.TYRE_PRESSURE_PSI: (Decimal("0"), Decimal("100")),
    MeasurementKind.BRAKE_PAD_MM: (Decimal("0"), Decimal("30")),
    MeasurementKind.COOLANT_TEMP_C: (Decimal("-40"), Decimal("150")),
}

# Minimum isolation resistance per volt of nominal pack voltage (UN ECE R100 / ISO 6469-3).
ISOLATION_MIN_OHM_PER_VOLT: dict[IsolationCircuit, Decimal] = {
    IsolationCircuit.DC: Decimal("100"),
    IsolationCircuit.AC: Decimal("500"),
}
CELL_DELTA_REBALANCE_MV = Decimal("50")
# Insulation testers apply 50-1000 V (1500 V for some 800 V platforms).
ISOLATION_TEST_VOLTAGE_RANGE = (Decimal("50"), Decimal("1500"))
NOMINAL_VOLTAGE_RANGE = (Decimal("48"), Decimal("1000"))

ISOLATION_FAULT_JOB = "HV isolation fault diagnosis"
CELL_BALANCING_JOB = "Battery cell balancing"

_OHM_PER_VOLT_STEP = Decimal("0.01")

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


@attrs.frozen
class Measurement:
    """A reading as recorded, with what the domain concluded from it."""

    measurement_id: int
    kind: MeasurementKind
    value: Decimal
    unit: str
    item_code: str | None
    test_voltage_v: Decimal | None
    circuit: IsolationCircuit | None
    ohm_per_volt: Decimal | None
    passed: bool | None
    flag: Rating | None


@attrs.frozen
class RecommendedJob:
    """A job the advisor may add to the repair order. Derived on read, never stored."""

    item_code: str | None
    title: str
    severity: Rating
    reason: str


_E = TypeVar("_E", bound=Enum)


def _member(enum: type[_E], value: Any, field: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        fail(field, f"must be one of {allowed}")


def isolation_ohm_per_volt(resistance_mohm: Decimal, nominal_voltage_v: Decimal) -> Decimal:
    """Isolation resistance per volt of nominal pack voltage, truncated to 0.01 Ω/V.

    Truncating (never rounding up) keeps ``ohm_per_volt >= limit`` equal to the exact test, so
    the recorded figure and the recorded verdict can never disagree.
    """
    exact = resistance_mohm * Decimal(1_000_000) / nominal_voltage_v
    return exact.quantize(_OHM_PER_VOLT_STEP, rounding=ROUND_DOWN)


class Inspection(Aggregate):
    """One digital vehicle inspection, usually linked to a repair order."""

    @classmethod
    def start(
        cls,
        *,
        vehicle_id: UUID,
        repair_order_id: UUID | None,
        technician_id: UUID,
        template: InspectionTemplate,
        nominal_voltage_v: Decimal,
        actor: Actor,
        id: UUID | None = None,  # the library's keyword for a chosen aggregate id
    ) -> Inspection:
        if not isinstance(vehicle_id, UUID):
            fail("vehicle_id", "must be a UUID")
        if repair_order_id is not None and not isinstance(repair_order_id, UUID):
            fail("repair_order_id", "must be a UUID")
        if not isinstance(technician_id, UUID):
            fail("technician_id", "must be a UUID")
        if not isinstance(template, InspectionTemplate):
            fail("template", "must be an inspection template")
        # Only the code and version are recorded, so the template must be the packaged one.
        if load_template(template.code, template.version) != template:
            fail("template", f"{template.code} v{template.version} differs from the packaged file")
        low, high = NOMINAL_VOLTAGE_RANGE
        # The vehicle's recorded voltage, perhaps written before the canonical rule: a range check.
        check_decimal_range("nominal_voltage_v", nominal_voltage_v, minimum=low, maximum=high)
        nominal_voltage_v = canonical_copy(nominal_voltage_v)  # the new event is canonical
        return cls(
            vehicle_id=vehicle_id,
            repair_order_id=repair_order_id,
            technician_id=technician_id,
            template_code=template.code,
            template_version=template.version,
            nominal_voltage_v=nominal_voltage_v,
            actor=actor,
            id=id,
        )

    class Started(Aggregate.Created):
        vehicle_id: UUID
        repair_order_id: UUID | None
        technician_id: UUID
        template_code: str
        template_version: int
        nominal_voltage_v: Decimal
        actor: Actor

    @event(Started)
    def __init__(
        self,
        *,
        vehicle_id: UUID,
        repair_order_id: UUID | None,
        technician_id: UUID,
        template_code: str,
        template_version: int,
        nominal_voltage_v: Decimal,
        actor: Actor,
        id: UUID | None = None,
    ) -> None:
        # ``id`` is consumed by the library (a chosen aggregate id, or a new one when None);
        # declaring it here is what lets ``start(id=...)`` through, and it is not event data.
        self.vehicle_id = vehicle_id
        self.repair_order_id = repair_order_id
        self.technician_id = technician_id
        self.template_code = template_code
        self.template_version = template_version
        self.nominal_voltage_v = nominal_voltage_v
        self.ratings: dict[str, dict[str, Any]] = {}
        self.measurements: list[Measurement] = []
        self.media: list[MediaAttachment] = []
        # Uploads a ticket was issued for and not yet confirmed, by media id.
        self.media_uploads: dict[str, MediaUpload] = {}
        self.completed = False
        self.shared = False

    # -- reads --------------------------------------------------------------------------------

    @property
    def template(self) -> InspectionTemplate:
        return load_template(self.template_code, self.template_version)

    @property
    def status(self) -> str:
        return COMPLETED if self.completed else IN_PROGRESS

    def unrated_required_codes(self) -> list[str]:
        return [code for code in self.template.required_codes if code not in self.ratings]

    def latest_value(self, kind: MeasurementKind) -> Decimal | None:
        """The most recent reading of a kind, if any (e.g. the SoC beside an SoH reading)."""
        for measurement in reversed(self.measurements):
            if measurement.kind is kind:
                return measurement.value
        return None

    def flagged_measurements(self) -> list[Measurement]:
        return [m for m in self.measurements if m.flag is not None]

    def recommended_jobs(self) -> list[RecommendedJob]:
        """Red and amber items (in checklist order), then flagged measurements, one per title."""
        jobs: dict[str, RecommendedJob] = {}

        def offer(job: RecommendedJob) -> None:
            existing = jobs.get(job.title)
            if existing is None:
                jobs[job.title] = job
                return
            worst = Rating.RED if Rating.RED in (existing.severity, job.severity) else job.severity
            jobs[job.title] = attrs.evolve(
                existing, severity=worst, reason=f"{existing.reason}; {job.reason}"
            )

        for item in self.template.items:
            rated = self.ratings.get(item.code)
            if rated is None or rated["rating"] not in (Rating.AMBER, Rating.RED):
                continue
            rating: Rating = rated["rating"]
            reason = f"{item.title} rated {rating.value}"
            if rated["note"]:
                reason = f"{reason}: {rated['note']}"
            offer(RecommendedJob(item.code, item.recommended_job, rating, reason))

        for m in self.measurements:
            if m.flag is None:
                continue
            if m.kind is MeasurementKind.ISOLATION_RESISTANCE_MOHM:
                circuit = m.circuit or IsolationCircuit.DC
                limit = ISOLATION_MIN_OHM_PER_VOLT[circuit]
                reason = (
                    f"isolation {m.ohm_per_volt} ohm/V below {limit} ohm/V "
                    f"({circuit.value.upper()}, {m.value} MOhm at {self.nominal_voltage_v} V)"
                )
                offer(RecommendedJob(m.item_code, ISOLATION_FAULT_JOB, m.flag, reason))
            elif m.kind is MeasurementKind.CELL_VOLTAGE_DELTA_MV:
                reason = f"cell voltage delta {m.value} mV above {CELL_DELTA_REBALANCE_MV} mV"
                offer(RecommendedJob(m.item_code, CELL_BALANCING_JOB, m.flag, reason))
        return list(jobs.values())

    # -- ratings ------------------------------------------------------------------------------

    def rate_item(
        self, *, item_code: str, rating: Rating, note: str | None = None, actor: Actor
    ) -> None:
        self._require_in_progress("rate an item")
        item = self.template.item(item_code)
        rating = _member(Rating, rating, "rating")
        clean_note = check_text("note", note, max_length=2000, required=False) if note else ""
        if rating is Rating.RED and item.hv_system and not clean_note:
            fail("note", f"a red rating on HV-system item {item.code} needs a note saying why")
        self._item_rated(item_code=item.code, rating=rating, note=clean_note or None, actor=actor)

    class ItemRated(Aggregate.Event):
        item_code: str
        rating: Rating
        note: str | None
        actor: Actor

    @event(ItemRated)
    def _item_rated(
        self, *, item_code: str, rating: Rating, note: str | None, actor: Actor
    ) -> None:
        self.ratings[item_code] = {"rating": rating, "note": note}

    # -- measurements -------------------------------------------------------------------------

    def record_measurement(
        self,
        *,
        kind: MeasurementKind,
        value: Decimal,
        unit: str,
        item_code: str | None = None,
        test_voltage_v: Decimal | None = None,
        circuit: IsolationCircuit | None = None,
        actor: Actor,
    ) -> None:
        self._require_in_progress("record a measurement")
        kind = _member(MeasurementKind, kind, "kind")
        expected_unit = MEASUREMENT_UNITS[kind]
        if unit != expected_unit:
            fail("unit", f"{kind.value} is recorded in {expected_unit!r}, not {unit!r}")
        low, high = MEASUREMENT_RANGES[kind]
        check_decimal("value", value, minimum=low, maximum=high)
        if item_code is not None:
            item_code = self.template.item(item_code).code

        ohm_per_volt: Decimal | None = None
        passed: bool | None = None
        flag: Rating | None = None
        if kind is MeasurementKind.ISOLATION_RESISTANCE_MOHM:
            if test_voltage_v is None:
                fail("test_voltage_v", "an isolation measurement needs the tester's voltage")
            t_low, t_high = ISOLATION_TEST_VOLTAGE_RANGE
            check_decimal("test_voltage_v", test_voltage_v, minimum=t_low, maximum=t_high)
            circuit = (
                IsolationCircuit.DC
                if circuit is None
                else _member(IsolationCircuit, circuit, "circuit")
            )
            ohm_per_volt = isolation_ohm_per_volt(value, self.nominal_voltage_v)
            passed = ohm_per_volt >= ISOLATION_MIN_OHM_PER_VOLT[circuit]
            flag = None if passed else Rating.RED
        else:
            if test_voltage_v is not None:
                fail("test_voltage_v", "only applies to isolation resistance")
            if circuit is not None:
                fail("circuit", "only applies to isolation resistance")
            if kind is MeasurementKind.CELL_VOLTAGE_DELTA_MV and value > CELL_DELTA_REBALANCE_MV:
                flag = Rating.AMBER

        self._measurement_recorded(
            measurement_id=len(self.measurements) + 1,
            kind=kind,
            value=value,
            unit=unit,
            item_code=item_code,
            test_voltage_v=test_voltage_v,
            circuit=circuit,
            ohm_per_volt=ohm_per_volt,
            passed=passed,
            flag=flag,
            actor=actor,
        )

    class MeasurementRecorded(Aggregate.Event):
        measurement_id: int
        kind: MeasurementKind
        value: Decimal
        unit: str
        item_code: str | None
        test_voltage_v: Decimal | None
        circuit: IsolationCircuit | None
        ohm_per_volt: Decimal | None
        passed: bool | None
        flag: Rating | None
        actor: Actor

    @event(MeasurementRecorded)
    def _measurement_recorded(
        self,
        *,
        measurement_id: int,
        kind: MeasurementKind,
        value: Decimal,
        unit: str,
        item_code: str | None,
        test_voltage_v: Decimal | None,
        circuit: IsolationCircuit | None,
        ohm_per_volt: Decimal | None,
        passed: bool | None,
        flag: Rating | None,
        actor: Actor,
    ) -> None:
        self.measurements.append(
            Measurement(
                measurement_id=measurement_id,
                kind=kind,
                value=value,
                unit=unit,
                item_code=item_code,
                test_voltage_v=test_voltage_v,
                circuit=circuit,
                ohm_per_volt=ohm_per_volt,
                passed=passed,
                flag=flag,
            )
        )

    # -- media --------------------------------------------------------------------------------
    # A photo or video arrives in two steps: the technician asks to upload (the server picks
    # the key and issues a ticket), then the server confirms what was stored (size, checksum,
    # type, decoded) and only then records it as attached. The bytes never pass through here.

    def media_item(self, media_id: UUID) -> MediaAttachment | None:
        return next((m for m in self.media if m.media_id == media_id), None)

    def request_media_upload(
        self,
        *,
        media_id: UUID,
        item_code: str | None = None,
        file_name: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        key: str,
        actor: Actor,
    ) -> None:
        self._require_in_progress("upload media")
        check_new_media(media_id, self.media_uploads, self.media)
        if item_code is not None:
            item_code = self.template.item(item_code).code
        self._media_upload_requested(
            media_id=media_id,
            item_code=item_code,
            file_name=check_file_name(file_name),
            content_type=check_content_type(content_type, MEDIA_CONTENT_TYPES),
            size_bytes=check_size(size_bytes),
            sha256=check_sha256(sha256),
            key=check_key(key),
            actor=actor,
        )

    class MediaUploadRequested(Aggregate.Event):
        media_id: UUID
        item_code: str | None
        file_name: str
        content_type: str
        size_bytes: int
        sha256: str
        key: str
        actor: Actor

    @event(MediaUploadRequested)
    def _media_upload_requested(
        self,
        *,
        media_id: UUID,
        item_code: str | None,
        file_name: str,
        content_type: str,
        size_bytes: int,
        sha256: str,
        key: str,
        actor: Actor,
    ) -> None:
        self.media_uploads[str(media_id)] = MediaUpload(
            media_id, item_code, file_name, content_type, size_bytes, sha256, key
        )

    def attach_media(
        self,
        *,
        media_id: UUID,
        width: int | None,
        height: int | None,
        duration_s: Decimal | None,
        key: str,
        actor: Actor,
    ) -> None:
        """Records a requested upload as attached, once its stored bytes were checked. Allowed
        whatever the inspection's state: the request was made while it was in progress."""
        upload = waiting_upload(self.media_uploads, media_id)
        self._media_attached(
            media_id=media_id,
            item_code=upload.item_code,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            actor=actor,
            file_name=upload.file_name,
            width=check_dimension("width", width),
            height=check_dimension("height", height),
            duration_s=check_duration(duration_s),
            key=check_key(key),
        )

    class MediaAttached(Aggregate.Event):
        # The first six fields are those of the events recorded before the upload flow
        # (issue 13), in their order; the new ones have defaults, so those events still decode
        # and replay unchanged (tests/golden).
        media_id: UUID
        item_code: str | None
        content_type: str
        size_bytes: int
        sha256: str
        actor: Actor
        file_name: str | None = None
        width: int | None = None
        height: int | None = None
        duration_s: Decimal | None = None
        key: str | None = None

        def apply(self, aggregate: Any) -> None:
            # Runs after the method below (the library calls it last): the event's own time
            # is only known here.
            aggregate._stamp_media(self.media_id, attached_at=self.timestamp)
            super().apply(aggregate)

    @event(MediaAttached)
    def _media_attached(
        self,
        *,
        media_id: UUID,
        item_code: str | None,
        content_type: str,
        size_bytes: int,
        sha256: str,
        actor: Actor,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration_s: Decimal | None = None,
        key: str | None = None,
    ) -> None:
        self.media_uploads.pop(str(media_id), None)
        self.media.append(
            MediaAttachment(
                media_id=media_id,
                item_code=item_code,
                content_type=content_type,
                size_bytes=size_bytes,
                sha256=sha256,
                file_name=file_name,
                width=width,
                height=height,
                duration_s=duration_s,
                key=key,
                attached_by=actor,
            )
        )

    def annotate_media(self, *, media_id: UUID, shapes: list[Shape], actor: Actor) -> None:
        """Draws markup over an attached photo (an empty list clears it). The original is
        untouched; each markup is its own event, so the history shows what was shown when.
        Allowed in any state of the inspection."""
        attached = self.media_item(check_media_id(media_id))
        if attached is None:
            fail("media_id", f"{media_id} is not an attached photo of this inspection")
        if not attached.is_photo:
            fail("media_id", "only photos can be annotated, not videos")
        self._media_annotated(media_id=media_id, shapes=check_shapes(shapes), actor=actor)

    class MediaAnnotated(Aggregate.Event):
        media_id: UUID
        shapes: list[Shape]
        actor: Actor

        def apply(self, aggregate: Any) -> None:
            aggregate._stamp_media(self.media_id, annotated_at=self.timestamp)
            super().apply(aggregate)

    @event(MediaAnnotated)
    def _media_annotated(self, *, media_id: UUID, shapes: list[Shape], actor: Actor) -> None:
        self._replace_media(media_id, annotations=list(shapes), annotated_by=actor)

    def _stamp_media(self, media_id: UUID, **times: datetime) -> None:
        self._replace_media(media_id, **times)

    def _replace_media(self, media_id: UUID, **changes: Any) -> None:
        for index, attached in enumerate(self.media):
            if attached.media_id == media_id:
                self.media[index] = attrs.evolve(attached, **changes)

    # -- completion and sharing ---------------------------------------------------------------

    def complete(self, *, actor: Actor) -> None:
        self._require_in_progress("complete the inspection")
        unrated = self.unrated_required_codes()
        if unrated:
            violate(
                "required_items_unrated", f"rate the required items first: {', '.join(unrated)}"
            )
        self._completed(actor=actor)

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Completed(Aggregate.Event):
        actor: Actor

    @event(Completed)
    def _completed(self, *, actor: Actor) -> None:
        self.completed = True

    def share_with_customer(self, *, actor: Actor) -> None:
        if not self.completed:
            raise InvalidStateError("share the inspection", self.status, (COMPLETED,))
        if self.shared:
            violate("already_shared", "the inspection has already been shared with the customer")
        self._shared_with_customer(actor=actor)

    class SharedWithCustomer(Aggregate.Event):
        actor: Actor

    @event(SharedWithCustomer)
    def _shared_with_customer(self, *, actor: Actor) -> None:
        self.shared = True

    def _require_in_progress(self, command: str) -> None:
        if self.completed:
            raise InvalidStateError(command, self.status, (IN_PROGRESS,))


VALUE_TYPES: list[type] = [Measurement]
ENUMS: list[type[Enum]] = [Rating, MeasurementKind, IsolationCircuit]
