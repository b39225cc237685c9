"""The media use cases on every store: a confirm whose record changed while its checks ran
still attaches (the checks stand; the attach is retried on the fresh aggregate), and a
workshop without media storage refuses clearly instead of half-recording."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from PIL import Image

from regenzet.adapters.clock import SystemClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.errors import StoreUnavailableError
from regenzet.application.media_confirm import MediaLimits
from regenzet.application.media_use_cases import MediaDesk
from regenzet.application.scenarios import attach_photo
from regenzet.application.workshop import Workshop
from regenzet.domain.inspection import Rating

from .conftest import Garage


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


class StorageWithARacingWrite(LocalMediaStorage):
    """A real local storage that lets another write to the inspection land while a confirm
    is between its checks and its event (as a second technician's tablet would)."""

    racing: Any = None

    def move(self, source: str, target: str, **kwargs: Any) -> None:
        super().move(source, target, **kwargs)
        if self.racing is not None:
            racing, self.racing = self.racing, None
            racing()


def started(workshop: Workshop, garage: Garage) -> UUID:
    return workshop.start_inspection(
        vehicle_id=garage.vehicle,
        repair_order_id=None,
        technician_id=garage.tech1,
        actor=garage.actor(garage.tech1),
    ).id


def test_a_confirm_racing_another_write_still_attaches_once(
    workshop: Workshop, garage: Garage, tmp_path: Path
) -> None:
    storage = StorageWithARacingWrite(
        tmp_path / "media", LocalMediaStorage.secret_in(tmp_path / "keys"), SystemClock()
    )
    workshop.media = MediaDesk(lambda: storage, MediaLimits(), SystemClock())
    inspection = started(workshop, garage)
    actor = garage.actor(garage.tech1)
    storage.racing = lambda: workshop.rate_inspection_item(
        inspection, item_code="tyres.tread", rating=Rating.GREEN, actor=actor
    )

    attach_photo(workshop, inspection_id=inspection, data=jpeg(), file_name="t.jpg", actor=actor)

    view = workshop.get_inspection(inspection)
    assert [m["file_name"] for m in view.media] == ["t.jpg"]
    assert "tyres.tread" in view.ratings  # the racing write kept, before the attach
    events = [e.event_type for e in workshop.get_history(inspection)]
    assert events[-2:] == ["ItemRated", "MediaAttached"]


def test_without_media_storage_an_upload_request_records_nothing(
    workshop: Workshop, garage: Garage
) -> None:
    workshop.media = None
    inspection = started(workshop, garage)
    before = workshop.recorder.max_notification_id()
    with pytest.raises(StoreUnavailableError, match="not configured"):
        workshop.request_inspection_media_upload(
            inspection,
            file_name="t.jpg",
            content_type="image/jpeg",
            size=10,
            sha256="a" * 64,
            actor=garage.actor(garage.tech1),
        )
    assert workshop.recorder.max_notification_id() == before
