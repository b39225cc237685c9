"""The inspection template as a client reads it: what to rate and which measurements each
item takes, with the unit and range the domain accepts (``GET /inspection-template``).

Rendered from the packaged, data-driven template (:mod:`regenzet.domain.inspection_template`)
and the domain's own unit and range tables, so the description can never drift from the rules
the inspection enforces.
"""

from __future__ import annotations

from typing import Any

from regenzet.domain.inspection import (
    ISOLATION_MIN_OHM_PER_VOLT,
    ISOLATION_TEST_VOLTAGE_RANGE,
    MEASUREMENT_RANGES,
    MEASUREMENT_UNITS,
    IsolationCircuit,
    MeasurementKind,
    Rating,
)
from regenzet.domain.inspection_template import load_template

DEFAULT_TEMPLATE = ("ev_inspection", 1)


def _measurement(code: str) -> dict[str, Any]:
    kind = MeasurementKind(code)
    low, high = MEASUREMENT_RANGES[kind]
    entry: dict[str, Any] = {
        "kind": kind.value,
        "unit": MEASUREMENT_UNITS[kind],
        "min": str(low),
        "max": str(high),
    }
    if kind is MeasurementKind.ISOLATION_RESISTANCE_MOHM:
        t_low, t_high = ISOLATION_TEST_VOLTAGE_RANGE
        entry["test_voltage_v"] = {"required": True, "min": str(t_low), "max": str(t_high)}
        entry["circuits"] = [c.value for c in IsolationCircuit]
        entry["pass_rule"] = {
            f"min_ohm_per_volt_{c.value}": str(v) for c, v in ISOLATION_MIN_OHM_PER_VOLT.items()
        }
    return entry


def get_inspection_template(
    code: str = DEFAULT_TEMPLATE[0], version: int = DEFAULT_TEMPLATE[1]
) -> dict[str, Any]:
    """Sections, items (HV-system, required, the job a red/amber rating recommends) and each
    item's measurements. Raises the domain's validation error for an unknown template."""
    template = load_template(code, version)
    return {
        "code": template.code,
        "version": template.version,
        "title": template.title,
        "ratings": [r.value for r in Rating],
        "note_required": "a red rating on an HV-system item needs a note",
        "sections": [
            {
                "code": section.code,
                "title": section.title,
                "items": [
                    {
                        "code": item.code,
                        "title": item.title,
                        "hv_system": item.hv_system,
                        "required": item.required,
                        "recommended_job": item.recommended_job,
                        "measurements": [_measurement(m) for m in item.measurements],
                    }
                    for item in section.items
                ],
            }
            for section in template.sections
        ],
    }


__all__ = ["DEFAULT_TEMPLATE", "get_inspection_template"]
