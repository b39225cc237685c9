"""Regenerates the golden fixtures of stored events (run deliberately, review the diff).

    python -m tests.golden.regenerate

Writes one stored event per event type to ``events_current.jsonl``: the exact bytes the
store holds today. ``tests/unit/test_golden_events.py`` decodes each with today's code and
re-encodes it, so any change to an event's stored form fails until it is versioned.
Fixtures of *old* versions (``*_v1.json``) are written by hand once and never regenerated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import NotificationPreferences
from regenzet.domain.repair_order import LabourLine, PartLine, PartRequestLine
from regenzet.entrypoints.demo import demo_id, seed_demo

HERE = Path(__file__).parent
ADVISOR = Actor("golden-advisor", Role.ADVISOR)
TECHNICIAN = Actor("golden-technician", Role.TECHNICIAN)


def build_log() -> Workshop:
    clock = ManualClock(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    w = Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        vin_decoder=VininfoVinDecoder(),
    )
    report = seed_demo(w, clock)
    # What the demo does not exercise:
    sanne, lukas = demo_id("customer:sanne"), demo_id("customer:lukas")
    w.change_customer_contact(sanne, email="sanne@example.org", phone=None, actor=ADVISOR)
    w.change_customer_preferences(
        lukas, preferences=NotificationPreferences(sms=True), actor=ADVISOR
    )
    w.deactivate_staff_member(demo_id("staff:jonas"), reason="Left the company", actor=ADVISOR)
    leaf = w.find_vehicle_id("1N4AZ1CP0JC306212")
    w.correct_odometer(leaf, km=91_300, reason="Cluster replaced", actor=ADVISOR)
    w.transfer_vehicle_ownership(leaf, new_owner_id=sanne, actor=ADVISOR)
    order = report.repair_orders["awaiting_approval"]
    w.revise_job(
        order,
        job_id="tyres",
        title="Two front tyres",
        labour=[LabourLine("Fit and balance", Decimal("0.8"), Decimal("85"))],
        parts=[PartLine("T-1", "Tyre", Decimal("2"), Decimal("130.00"))],
        hv_work=False,
        required_hv_level=None,
        actor=ADVISOR,
    )
    w.remove_job(order, job_id="balance", actor=ADVISOR)
    parts_order = report.repair_orders["waiting_for_parts"]
    w.receive_parts(parts_order, request_id="PR-1", actor=ADVISOR)
    w.request_parts(
        parts_order,
        request_id="PR-2",
        job_id="charge-port",
        lines=[PartRequestLine("CLIP-1", "Clip", Decimal("4"))],
        actor=ADVISOR,
    )
    brakes, milan = report.repair_orders["in_progress"], demo_id("staff:milan")
    milan_actor = Actor(str(milan), Role.TECHNICIAN)
    w.clock_off(brakes, job_id="discs", technician_id=milan, actor=milan_actor)
    w.complete_job(brakes, job_id="discs", actor=milan_actor)
    w.fail_quality_check(
        brakes, reason="Pad wear sensor not connected", job_ids=["discs"], actor=ADVISOR
    )
    # Media (issue 13), on the aggregates themselves: the use cases need stored files.
    inspection = w.repository.get(demo_id("inspection:bolt"))
    media_id = UUID(int=43)
    inspection.request_media_upload(
        media_id=media_id,
        item_code="brakes.disc_corrosion",
        file_name="disc.jpg",
        content_type="image/jpeg",
        size_bytes=2_345_678,
        sha256="cd" * 32,
        key=f"pending/inspections/{inspection.id}/{media_id}",
        actor=TECHNICIAN,
    )
    inspection.attach_media(
        media_id=media_id,
        width=4000,
        height=3000,
        duration_s=None,
        key=f"media/inspections/{inspection.id}/{media_id}/original",
        actor=TECHNICIAN,
    )
    inspection.annotate_media(
        media_id=media_id,
        shapes=[
            {
                "kind": "arrow",
                "points": [[0.1, 0.2], [0.4, 0.5]],
                "colour": "#ff3b30",
                "label": None,
            },
            {"kind": "text", "points": [[0.5, 0.5]], "colour": "#ffffff", "label": "Pitting"},
        ],
        actor=TECHNICIAN,
    )
    order = w.repository.get(report.repair_orders["in_progress"])
    photo = UUID(int=44)
    order.request_media_upload(
        media_id=photo,
        file_name="bumper.heic",
        content_type="image/heic",
        size_bytes=1_234_567,
        sha256="ef" * 32,
        key=f"pending/repair-orders/{order.id}/{photo}",
        actor=ADVISOR,
    )
    order.attach_media(
        media_id=photo,
        width=3024,
        height=4032,
        key=f"media/repair-orders/{order.id}/{photo}/original",
        actor=ADVISOR,
    )
    w.save(inspection, order)
    return w


def stored_events_by_type(w: Workshop) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for n in w.recorder.select_notifications(1, 100_000):
        if n.topic not in found and "Snapshot" not in n.topic:
            found[n.topic] = {
                "topic": n.topic,
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "state": n.state.decode("utf-8"),
            }
    return found


def _shape(fixture: dict[str, object]) -> tuple[object, tuple[str, ...]]:
    return fixture["topic"], tuple(sorted(json.loads(str(fixture["state"]))))


def earlier_shapes(events: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    """Fixtures of the current file whose stored shape (topic and keys) today's log no longer
    writes: an event that gained defaulted fields (``Inspection.MediaAttached`` before issue
    13) must keep decoding as stored, so its old line stays."""
    path = HERE / "events_current.jsonl"
    if not path.exists():
        return []
    written = {_shape(f) for f in events.values()}
    kept = []
    for line in path.open(encoding="utf-8"):
        fixture = json.loads(line)
        if _shape(fixture) not in written and fixture["topic"] in events:
            kept.append(fixture)
    return kept


def main() -> None:
    w = build_log()
    events = stored_events_by_type(w)
    lines = [*earlier_shapes(events), *events.values()]
    with (HERE / "events_current.jsonl").open("w", encoding="utf-8") as out:
        for fixture in sorted(lines, key=lambda f: (str(f["topic"]), str(f["state"]))):
            out.write(json.dumps(fixture, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} fixtures of {len(events)} event types")


if __name__ == "__main__":
    main()
