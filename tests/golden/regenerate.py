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
    inspection = demo_id("inspection:bolt")
    w.attach_media(
        inspection,
        media_id=UUID(int=42),
        item_code="battery.hv_pack_visual",
        content_type="image/jpeg",
        size_bytes=2_345_678,
        sha256="ab" * 32,
        actor=ADVISOR,
    )
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


def main() -> None:
    w = build_log()
    events = stored_events_by_type(w)
    with (HERE / "events_current.jsonl").open("w", encoding="utf-8") as out:
        for topic in sorted(events):
            out.write(json.dumps(events[topic], sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} event types")


if __name__ == "__main__":
    main()
