"""One contract for every MediaStorage adapter (local directory + HMAC tickets; S3 on moto).

Each adapter comes with a harness that uploads the way a browser does for that adapter (the
ticket's fields, then the file, to the ticket's URL) and fetches a download URL, so the suite
checks the whole round trip and not only the adapter's own view of it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from uuid import uuid4

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media import (
    MAX_TICKET_SECONDS,
    MediaObjectMissing,
    MediaStorage,
    UploadTicket,
)

from ..conftest import START

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # bytes only: storage never sniffs


class Fetched(Protocol):
    status: int
    headers: dict[str, str]
    body: bytes


class Harness(Protocol):
    storage: MediaStorage

    def now(self) -> datetime:
        """The time by which the adapter dates tickets and objects."""
        ...

    def upload(self, ticket: UploadTicket, data: bytes, *, part_type: str | None = None) -> None:
        """POSTs the ticket's fields then ``data`` as ``file`` to ``ticket.url``; raises
        when storage refuses."""
        ...

    def fetch(self, url: str) -> Fetched:
        """GETs a download URL."""
        ...


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class LocalHarness:
    """The local adapter, driven through the calls its HTTP routes make."""

    def __init__(self, root: Path) -> None:
        self.clock = ManualClock(START)
        self.storage = LocalMediaStorage(root / "media", b"k" * 32, self.clock)
        self.local = self.storage

    def now(self) -> datetime:
        return self.clock.now()

    def upload(self, ticket: UploadTicket, data: bytes, *, part_type: str | None = None) -> None:
        with self.local.begin_upload(ticket.fields) as upload:
            for start in range(0, len(data), 4096):
                upload.write(data[start : start + 4096])
            upload.finish(part_type)

    def fetch(self, url: str) -> Fetched:
        from urllib.parse import parse_qsl, urlsplit

        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        download = self.local.resolve_download(params)
        return _Response(
            200,
            {
                "content-type": download.content_type,
                "content-disposition": download.content_disposition,
            },
            download.path.read_bytes(),
        )


@pytest.fixture(params=["local"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return LocalHarness(tmp_path)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pending_key() -> str:
    return f"pending/inspections/{uuid4()}/{uuid4()}"


def ticket_for(
    harness: Harness, key: str, data: bytes, content_type: str = "image/png"
) -> UploadTicket:
    return harness.storage.issue_upload(
        key, content_type=content_type, size=len(data), sha256=digest(data), expires_in=300
    )


def uploaded(harness: Harness, data: bytes = PNG, content_type: str = "image/png") -> str:
    key = pending_key()
    harness.upload(ticket_for(harness, key, data, content_type), data)
    return key


# -- tickets -------------------------------------------------------------------------------


def test_a_ticket_binds_the_key_the_type_and_the_checksum(harness: Harness) -> None:
    key = pending_key()
    ticket = ticket_for(harness, key, PNG)
    assert ticket.key == key
    assert ticket.url
    assert ticket.fields["key"] == key
    assert ticket.fields["Content-Type"] == "image/png"
    assert (
        ticket.fields["x-amz-checksum-sha256"]
        == base64.b64encode(hashlib.sha256(PNG).digest()).decode()
    )
    assert "file" not in ticket.fields  # the browser adds the file last


def test_a_ticket_expires_when_asked_and_never_after_five_minutes(harness: Harness) -> None:
    ticket = harness.storage.issue_upload(
        pending_key(), content_type="image/png", size=10, sha256=digest(b"x"), expires_in=120
    )
    expected = harness.now() + timedelta(seconds=120)
    assert abs((ticket.expires_at - expected).total_seconds()) <= 1
    assert ticket.expires_at.tzinfo is not None
    for too_long in (MAX_TICKET_SECONDS + 1, 3600, 0):
        with pytest.raises(ValueError):
            harness.storage.issue_upload(
                pending_key(),
                content_type="image/png",
                size=10,
                sha256=digest(b"x"),
                expires_in=too_long,
            )


@pytest.mark.parametrize(
    "key",
    [
        "media/inspections/a/b/original",  # uploads land under pending/ only
        "pending/../media/x",
        "../pending/x",
        "/pending/x",
        "pending\\x",
        "pending/x\x00y",
        "pending//x",
        "pending/.meta/x",
        "",
    ],
)
def test_a_ticket_is_only_for_a_plain_key_under_pending(harness: Harness, key: str) -> None:
    with pytest.raises(ValueError):
        harness.storage.issue_upload(
            key, content_type="image/png", size=10, sha256=digest(b"x"), expires_in=60
        )


@pytest.mark.parametrize(
    ("content_type", "size", "sha256"),
    [
        ("image/png\r\nX-Evil: 1", 10, "a" * 64),
        ("image/png", 0, "a" * 64),
        ("image/png", 10, "A" * 64),
        ("image/png", 10, "a" * 63),
    ],
)
def test_a_ticket_refuses_a_bad_declaration(
    harness: Harness, content_type: str, size: int, sha256: str
) -> None:
    with pytest.raises(ValueError):
        harness.storage.issue_upload(
            pending_key(), content_type=content_type, size=size, sha256=sha256, expires_in=60
        )


# -- objects -------------------------------------------------------------------------------


def test_an_upload_is_stored_with_its_size_type_and_checksum(harness: Harness) -> None:
    key = uploaded(harness)
    head = harness.storage.head(key)
    assert head.key == key
    assert head.size == len(PNG)
    assert head.content_type == "image/png"
    assert head.sha256 in {digest(PNG), None}  # moto does not keep a POST's checksum
    assert harness.storage.read(key) == PNG
    assert harness.storage.read(key, limit=16) == PNG[:16]
    assert harness.storage.read(key, limit=len(PNG) * 2) == PNG


def test_derived_bytes_are_put_and_read_back(harness: Harness) -> None:
    key = f"media/inspections/{uuid4()}/{uuid4()}/thumbnail.webp"
    harness.storage.put(key, b"RIFF0000WEBPthumb", content_type="image/webp")
    head = harness.storage.head(key)
    assert (head.size, head.content_type) == (17, "image/webp")
    assert head.sha256 == digest(b"RIFF0000WEBPthumb")
    assert harness.storage.read(key) == b"RIFF0000WEBPthumb"
    harness.storage.put(key, b"RIFF0000WEBPagain", content_type="image/webp")
    assert harness.storage.read(key) == b"RIFF0000WEBPagain"


def test_a_missing_object_is_reported_as_missing(harness: Harness) -> None:
    key = pending_key()
    with pytest.raises(MediaObjectMissing):
        harness.storage.head(key)
    with pytest.raises(MediaObjectMissing):
        harness.storage.read(key)
    with pytest.raises(MediaObjectMissing):
        harness.storage.read(key, limit=10)
    with pytest.raises(MediaObjectMissing):
        harness.storage.move(key, f"media/x/{uuid4()}/original")


def test_move_takes_the_object_out_of_pending_and_is_idempotent(harness: Harness) -> None:
    source = uploaded(harness)
    target = f"media/inspections/{uuid4()}/{uuid4()}/original"
    harness.storage.move(source, target)
    with pytest.raises(MediaObjectMissing):
        harness.storage.head(source)
    head = harness.storage.head(target)
    assert (head.size, head.content_type) == (len(PNG), "image/png")
    assert harness.storage.read(target) == PNG
    harness.storage.move(source, target)  # a retried confirm: nothing to do
    assert harness.storage.read(target) == PNG


def test_delete_removes_the_object_and_deleting_twice_is_fine(harness: Harness) -> None:
    key = uploaded(harness)
    harness.storage.delete(key)
    with pytest.raises(MediaObjectMissing):
        harness.storage.head(key)
    harness.storage.delete(key)
    harness.storage.delete(pending_key())


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "media\\x", "media/\x00", "a/../b"])
def test_no_operation_accepts_a_key_that_escapes(harness: Harness, key: str) -> None:
    with pytest.raises(ValueError):
        harness.storage.head(key)
    with pytest.raises(ValueError):
        harness.storage.read(key)
    with pytest.raises(ValueError):
        harness.storage.put(key, b"x", content_type="image/png")
    with pytest.raises(ValueError):
        harness.storage.delete(key)
    with pytest.raises(ValueError):
        harness.storage.move(key, "media/x/y")
    with pytest.raises(ValueError):
        harness.storage.download_url(key, filename="x", content_type="image/png", expires_in=60)


# -- the sweep -----------------------------------------------------------------------------


def test_the_sweep_lists_unconfirmed_uploads_older_than_the_moment(harness: Harness) -> None:
    waiting = uploaded(harness)
    confirmed = uploaded(harness)
    harness.storage.move(confirmed, f"media/inspections/{uuid4()}/{uuid4()}/original")
    derived = f"media/inspections/{uuid4()}/{uuid4()}/preview.webp"
    harness.storage.put(derived, b"webp", content_type="image/webp")

    later = list(harness.storage.pending_older_than(harness.now() + timedelta(minutes=5)))
    assert later == [waiting]
    assert list(harness.storage.pending_older_than(harness.now() - timedelta(hours=1))) == []


# -- downloads -----------------------------------------------------------------------------


@pytest.mark.parametrize("inline", [True, False])
def test_a_download_url_serves_the_bytes_with_the_given_type_and_disposition(
    harness: Harness, inline: bool
) -> None:
    key = f"media/inspections/{uuid4()}/{uuid4()}/original"
    harness.storage.put(key, PNG, content_type="image/png")
    url = harness.storage.download_url(
        key, filename="brake disc.png", content_type="image/png", expires_in=300, inline=inline
    )
    response = harness.fetch(url)
    assert response.status == 200
    assert response.body == PNG
    assert response.headers["content-type"].split(";")[0] == "image/png"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline" if inline else "attachment")
    assert "brake" in disposition


def test_a_download_url_names_the_type_it_was_minted_with(harness: Harness) -> None:
    """The server decides how a file is served, not what the object happens to say."""
    key = f"media/inspections/{uuid4()}/{uuid4()}/original"
    harness.storage.put(key, b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
    url = harness.storage.download_url(
        key, filename="walkaround.mp4", content_type="video/mp4", expires_in=60
    )
    response = harness.fetch(url)
    assert response.headers["content-type"].split(";")[0] == "video/mp4"
    assert response.headers["content-disposition"].startswith("attachment")
