"""A confirm repeated after its move (review of the media flow, medium 2), on every media
storage adapter: nothing is pending any more, so the confirm finishes from the original at
its final key, checked again like an upload, with its previews made again. An object there
that is not the declared one is never taken for it, nor deleted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from regenzet.application.media import MediaObjectMissing
from regenzet.application.media_confirm import (
    UploadMissingError,
    confirm_upload,
    preview_key,
    thumbnail_key,
)

from .test_media_confirm_on_every_adapter import LIMITS, jpeg, target_of, uploaded
from .test_media_storage_contract import Harness, harness, moto_endpoint

__all__ = ["harness", "moto_endpoint"]


def test_a_photo_confirmed_again_after_its_move_is_the_same_and_gets_its_previews_back(
    harness: Harness,
) -> None:
    data = jpeg((1200, 1600))
    upload = uploaded(harness, data)
    first = confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    storage = harness.storage
    storage.delete(thumbnail_key(first.key))  # lost after the move
    again = confirm_upload(storage, upload, target_of(upload), LIMITS)
    assert again == first
    assert storage.read(again.key) == data
    thumbnail = Image.open(io.BytesIO(storage.read(thumbnail_key(again.key))))
    assert (thumbnail.format, max(thumbnail.size)) == ("WEBP", 512)
    assert storage.head(preview_key(again.key)).size > 0
    with pytest.raises(MediaObjectMissing):
        storage.head(upload.key)


def test_a_video_confirmed_again_after_its_move_is_the_same(harness: Harness) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 300_000
    upload = uploaded(harness, mp4, "video/mp4")
    first = confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    assert confirm_upload(harness.storage, upload, target_of(upload), LIMITS) == first


def test_an_object_at_the_final_key_that_is_not_the_declared_one_is_not_taken(
    harness: Harness,
) -> None:
    upload = uploaded(harness, jpeg())
    first = confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    other = jpeg((640, 480))
    harness.storage.put(first.key, other, content_type="image/jpeg")
    with pytest.raises(UploadMissingError):
        confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    assert harness.storage.read(first.key) == other  # never deleted from here
