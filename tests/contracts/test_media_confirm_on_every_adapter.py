"""The confirm pipeline (``application/media_confirm.py``) on every media storage adapter:
the local directory and S3 on moto's server. moto keeps whatever is POSTed (no policy, no
checksum check), so there the confirm's own checks are the only ones: exactly the case they
exist for. Uploads go through each adapter's own POST, as a browser's would."""

from __future__ import annotations

import hashlib
import io
from uuid import UUID, uuid4

import pytest
from PIL import Image

from regenzet.application.media_confirm import (
    MediaLimits,
    MediaRefusedError,
    UploadMissingError,
    confirm_upload,
    original_key,
    preview_key,
    thumbnail_key,
)
from regenzet.domain.media import MediaUpload

from .test_media_storage_contract import Harness, harness, moto_endpoint

__all__ = ["harness", "moto_endpoint"]

LIMITS = MediaLimits()


def jpeg(size: tuple[int, int] = (1600, 1200)) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def request(data: bytes, content_type: str = "image/jpeg") -> tuple[MediaUpload, str]:
    owner, media_id = uuid4(), uuid4()
    upload = MediaUpload(
        media_id=media_id,
        item_code=None,
        file_name="p.jpg",
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        key=f"pending/inspections/{owner}/{media_id}",
    )
    return upload, original_key("inspections", owner, media_id)


def uploaded(harness: Harness, data: bytes, content_type: str = "image/jpeg") -> MediaUpload:
    upload, _ = request(data, content_type)
    ticket = harness.storage.issue_upload(
        upload.key,
        content_type=content_type,
        size=len(data),
        sha256=upload.sha256,
        expires_in=300,
    )
    harness.upload(ticket, data, part_type=content_type)
    return upload


def target_of(upload: MediaUpload) -> str:
    _, owner, media_id = upload.key.removeprefix("pending/").split("/")
    return original_key("inspections", UUID(owner), UUID(media_id))


def test_a_photo_is_moved_out_of_pending_with_its_preview_and_thumbnail(
    harness: Harness,
) -> None:
    data = jpeg()
    upload = uploaded(harness, data)
    confirmed = confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    assert (confirmed.width, confirmed.height) == (1600, 1200)
    storage = harness.storage
    assert storage.read(confirmed.key) == data
    preview = Image.open(io.BytesIO(storage.read(preview_key(confirmed.key))))
    thumbnail = Image.open(io.BytesIO(storage.read(thumbnail_key(confirmed.key))))
    assert (preview.format, preview.size) == ("WEBP", (1600, 1200))
    assert thumbnail.size == (512, 384)
    with pytest.raises(LookupError):
        storage.head(upload.key)


@pytest.mark.parametrize(
    ("stored", "rule"),
    [
        (b"MZ\x90\x00" + bytes(range(256)) * 16, "wrong-type"),
        (jpeg()[:700], "undecodable"),
    ],
)
def test_bytes_that_are_not_a_picture_are_refused_and_deleted(
    harness: Harness, stored: bytes, rule: str
) -> None:
    upload = uploaded(harness, stored)
    with pytest.raises(MediaRefusedError) as refused:
        confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    assert refused.value.reason == rule
    with pytest.raises(LookupError):
        harness.storage.head(upload.key)


@pytest.mark.parametrize(("other", "rule"), [(b"\x00" * 10, "size-mismatch"), (None, "checksum")])
def test_stored_bytes_other_than_the_declared_ones_are_refused(
    harness: Harness, other: bytes | None, rule: str
) -> None:
    data = jpeg()
    upload, target = request(data)
    changed = other if other is not None else data[:-2] + b"\x00\x00"
    harness.storage.put(upload.key, changed, content_type="image/jpeg")
    with pytest.raises(MediaRefusedError) as refused:
        confirm_upload(harness.storage, upload, target, LIMITS)
    assert refused.value.reason.startswith(rule)
    with pytest.raises(LookupError):
        harness.storage.head(upload.key)


def test_nothing_uploaded_yet_is_upload_missing(harness: Harness) -> None:
    upload, target = request(jpeg())
    with pytest.raises(UploadMissingError):
        confirm_upload(harness.storage, upload, target, LIMITS)


def test_a_video_is_hashed_in_chunks_and_sniffed_not_decoded(harness: Harness) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 300_000
    upload = uploaded(harness, mp4, "video/mp4")
    confirmed = confirm_upload(harness.storage, upload, target_of(upload), LIMITS)
    assert (confirmed.width, confirmed.height, confirmed.duration_s) == (None, None, None)
    assert harness.storage.read(confirmed.key) == mp4
