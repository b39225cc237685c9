"""Golden fixtures: the stored form of every event type, and old versions that must still load.

If one of these fails, an event's stored form changed. That is a schema change: raise the
event's ``class_version``, add an upcaster and an old-version fixture, then regenerate
``events_current.jsonl`` with ``python -m tests.golden.regenerate`` and review the diff.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.workshop import Workshop
from regenzet.domain import catalog
from regenzet.domain.common import Actor, Role
from regenzet.domain.customer import Customer, NotificationPreferences

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CURRENT = [json.loads(line) for line in (GOLDEN / "events_current.jsonl").open(encoding="utf-8")]


@pytest.fixture(scope="module")
def mapper() -> Any:
    app = Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        vin_decoder=VininfoVinDecoder(),
    )
    return app.mapper


def stored(fixture: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(fixture["originator_id"]),
        originator_version=fixture["originator_version"],
        topic=fixture["topic"],
        state=fixture["state"].encode("utf-8"),
    )


def test_every_event_type_has_a_golden_fixture() -> None:
    assert {f["topic"] for f in CURRENT} == {get_topic(c) for c in catalog.event_classes()}


@pytest.mark.parametrize("fixture", CURRENT, ids=lambda f: f["topic"].rpartition(":")[2])
def test_stored_form_is_unchanged(fixture: dict[str, Any], mapper: Any) -> None:
    event = mapper.to_domain_event(stored(fixture))
    assert get_topic(type(event)) == fixture["topic"]
    assert mapper.to_stored_event(event).state == fixture["state"].encode("utf-8")


def test_customer_registered_v1_upcasts_to_default_preferences(mapper: Any) -> None:
    fixture = json.loads((GOLDEN / "customer_registered_v1.json").read_text(encoding="utf-8"))
    event = mapper.to_domain_event(stored(fixture))
    assert isinstance(event, Customer.Registered)
    assert event.preferences == NotificationPreferences()
    assert event.actor == Actor("advisor-eva", Role.ADVISOR)
    customer = event.mutate(None)
    assert customer.email == "sanne.devries@example.nl"
    # Re-saved today it is a version-2 event.
    assert b'"class_version":2' in mapper.to_stored_event(event).state


def test_media_attached_before_the_upload_flow_still_replays(mapper: Any) -> None:
    """Issue 13 added defaulted fields to ``Inspection.MediaAttached``: the events stored
    before (no file name, dimensions or key) decode as stored and replay onto the aggregate."""
    from decimal import Decimal

    from regenzet.domain.inspection import Inspection
    from regenzet.domain.inspection_template import load_template

    (old,) = [
        f
        for f in CURRENT
        if f["topic"].endswith("Inspection.MediaAttached") and '"file_name"' not in f["state"]
    ]
    event = mapper.to_domain_event(stored(old))
    assert "file_name" not in vars(event)  # decoded as stored, re-encoded unchanged above
    inspection = Inspection.start(
        vehicle_id=UUID(int=1),
        repair_order_id=None,
        technician_id=UUID(int=2),
        template=load_template(),
        nominal_voltage_v=Decimal("400"),
        actor=Actor("t", Role.TECHNICIAN),
        id=event.originator_id,
    )
    inspection.version = event.originator_version - 1
    event.mutate(inspection)
    (attached,) = inspection.media
    assert (attached.media_id, attached.size_bytes, attached.file_name) == (
        UUID(int=42),
        2_345_678,
        None,
    )
    assert (attached.key, attached.width, attached.attached_at) == (None, None, event.timestamp)
