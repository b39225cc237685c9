"""One contract for every MediaStorage adapter (local directory + HMAC tickets; S3 on moto).

Each adapter comes with a harness that uploads the way a browser does for that adapter (the
ticket's fields, then the file, to the ticket's URL) and fetches a download URL, so the suite
checks the whole round trip and not only the adapter's own view of it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import httpx
import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media import (
    MAX_TICKET_SECONDS,
    MediaObjectChangedError,
    MediaObjectMissing,
    MediaStorage,
    UploadTicket,
)

from ..conftest import START
from ..media_support import form_body, in_chunks, moto_server

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
    """The local adapter behind its own routes (``entrypoints/http/media_files.py``), called
    over HTTP the way the browser calls them."""

    def __init__(self, root: Path) -> None:
        from litestar import Litestar
        from litestar.testing import TestClient

        from regenzet.adapters.identity import JwtTokenVerifier, LocalKeyPair
        from regenzet.entrypoints.http.media_files import (
            DOWNLOAD_PATH,
            UPLOAD_PATH,
            media_files_router,
        )
        from regenzet.entrypoints.http.problems import problem_handler
        from regenzet.entrypoints.http.security import Gatekeeper, RateLimiter

        self.clock = ManualClock(START)
        self.storage = LocalMediaStorage(
            root / "media",
            b"k" * 32,
            self.clock,
            upload_url=UPLOAD_PATH,
            download_url=DOWNLOAD_PATH,
        )
        gatekeeper = Gatekeeper(
            verifier=JwtTokenVerifier.local(LocalKeyPair.generate(), issuer="i", audience="a"),
            per_ip=RateLimiter(0),
            per_subject=RateLimiter(0),
        )
        app = Litestar(
            route_handlers=[media_files_router(self.storage, gatekeeper)],
            exception_handlers={Exception: problem_handler},
        )
        self.client = TestClient(app, raise_server_exceptions=False).__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def now(self) -> datetime:
        return self.clock.now()

    def upload(self, ticket: UploadTicket, data: bytes, *, part_type: str | None = None) -> None:
        body, content_type = form_body(ticket.fields, data, part_type=part_type)
        response = self.client.post(
            ticket.url, content=in_chunks(body), headers={"Content-Type": content_type}
        )
        assert response.status_code == 204, response.text

    def fetch(self, url: str) -> Fetched:
        response = self.client.get(url)
        return _Response(response.status_code, dict(response.headers), response.content)


class S3Harness:
    """The S3 adapter on moto's server over real HTTP: the browser's POST goes to the
    presigned URL, the download to the presigned GET (moto does not check the POST policy:
    ``tests/adapters/test_media_s3_policy.py`` checks the policy document itself)."""

    def __init__(self, endpoint: str) -> None:
        import boto3
        from botocore.config import Config

        from regenzet.adapters.media_s3 import S3MediaStorage

        options: dict[str, Any] = {
            "region_name": "eu-central-1",
            "endpoint_url": endpoint,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        client = boto3.client(
            "s3",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            **options,
        )
        bucket = f"media-{uuid4().hex[:12]}"
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        key_id = boto3.client("kms", **options).create_key()["KeyMetadata"]["KeyId"]
        self.storage = S3MediaStorage(client, bucket, key_id)

    def close(self) -> None:
        pass

    def now(self) -> datetime:
        return datetime.now(UTC)

    def upload(self, ticket: UploadTicket, data: bytes, *, part_type: str | None = None) -> None:
        body, content_type = form_body(ticket.fields, data, part_type=part_type)
        response = httpx.post(ticket.url, content=body, headers={"Content-Type": content_type})
        assert response.status_code == 204, response.text

    def fetch(self, url: str) -> Fetched:
        response = httpx.get(url)
        return _Response(response.status_code, dict(response.headers), response.content)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "local":
        built: LocalHarness | S3Harness = LocalHarness(tmp_path)
    else:
        built = S3Harness(request.getfixturevalue("moto_endpoint"))
    yield built
    built.close()


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


def test_move_with_the_checked_head_moves_that_version_or_nothing(harness: Harness) -> None:
    source = uploaded(harness)
    checked = harness.storage.head(source)
    assert checked.etag
    # The same key uploaded again (an S3 ticket may be POSTed again within its lifetime).
    other = PNG[::-1]
    harness.upload(ticket_for(harness, source, other), other)
    target = f"media/inspections/{uuid4()}/{uuid4()}/original"
    with pytest.raises(MediaObjectChangedError):
        harness.storage.move(source, target, expected=checked)
    with pytest.raises(MediaObjectMissing):
        harness.storage.head(target)
    assert harness.storage.read(source) == other  # nothing moved, nothing lost
    with pytest.raises(MediaObjectChangedError):
        harness.storage.read(source, expected=checked)
    with pytest.raises(MediaObjectChangedError):
        harness.storage.chunks(source, expected=checked)
    current = harness.storage.head(source)
    assert harness.storage.read(source, expected=current) == other
    harness.storage.move(source, target, expected=current)
    assert harness.storage.read(target) == other
    harness.storage.move(source, target, expected=current)  # retried: nothing to do
    assert harness.storage.read(target) == other


def test_chunks_stream_the_object_in_pieces_of_at_most_the_size(harness: Harness) -> None:
    key = uploaded(harness)
    pieces = list(harness.storage.chunks(key, size=1000))
    assert b"".join(pieces) == PNG
    assert len(pieces) > 1
    assert all(1 <= len(piece) <= 1000 for piece in pieces)
    assert b"".join(harness.storage.chunks(key)) == PNG  # 1 MiB by default
    with pytest.raises(MediaObjectMissing):
        harness.storage.chunks(pending_key())  # raised by the call, not the first chunk


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
    # Stored as one type, minted as another: only the minted one may be served.
    harness.storage.put(key, b"\x00\x00\x00\x18ftypmp42", content_type="application/octet-stream")
    url = harness.storage.download_url(
        key, filename="walkaround.mp4", content_type="video/mp4", expires_in=60
    )
    response = harness.fetch(url)
    assert response.headers["content-type"].split(";")[0] == "video/mp4"
    assert response.headers["content-disposition"].startswith("attachment")


def test_s3_copies_the_checked_version_even_if_another_lands_just_before_the_copy(
    moto_endpoint: str,
) -> None:
    """The race the head check cannot close: a second POST lands between the check and the
    copy. The copy names the checked version (and its ETag, which moto ignores), so the
    confirmed original is the verified bytes whatever is current by then."""
    harness = S3Harness(moto_endpoint)
    storage: Any = harness.storage
    client = storage.client
    client.put_bucket_versioning(
        Bucket=storage.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    source = uploaded(harness)
    checked = storage.head(source)
    assert checked.version is not None

    def upload_over_it(**_: Any) -> None:
        client.meta.events.unregister("before-call.s3.CopyObject", upload_over_it)
        client.put_object(Bucket=storage.bucket, Key=source, Body=b"not what was checked")

    client.meta.events.register("before-call.s3.CopyObject", upload_over_it)
    target = f"media/inspections/{uuid4()}/{uuid4()}/original"
    storage.move(source, target, expected=checked)
    assert storage.read(target) == PNG


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/pdf"])
def test_only_photo_and_video_types_are_ever_served_inline(
    harness: Harness, content_type: str
) -> None:
    """Defence in depth: even a link asked for inline on a type that can run script is an
    attachment of untyped bytes (a presigned S3 GET carries no CSP)."""
    key = f"media/inspections/{uuid4()}/{uuid4()}/original"
    harness.storage.put(key, b"<svg onload=alert(1)>", content_type=content_type)
    url = harness.storage.download_url(
        key, filename="page.html", content_type=content_type, expires_in=60, inline=True
    )
    response = harness.fetch(url)
    assert response.status == 200
    assert response.headers["content-type"].split(";")[0] == "application/octet-stream"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert "page.bin" in disposition
    assert ".html" not in disposition


def test_the_saved_name_keeps_the_stem_and_takes_the_served_types_extension(
    harness: Harness,
) -> None:
    key = f"media/inspections/{uuid4()}/{uuid4()}/original"
    harness.storage.put(key, b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
    for filename, saved in [
        ("walk.html", "walk.mp4"),
        ("walk around", "walk around.mp4"),
        ("clip.MOV", "clip.mp4"),
        ("100%.mp4", "100_.mp4"),  # the ASCII fallback: no % for a browser to decode
        ("x" * 300 + ".mp4", "x" * 196 + ".mp4"),  # minted and served alike, at most 200
    ]:
        url = harness.storage.download_url(
            key, filename=filename, content_type="video/mp4", expires_in=60
        )
        response = harness.fetch(url)
        assert response.status == 200, filename
        fallback = response.headers["content-disposition"].split('filename="')[1].split('"')[0]
        assert fallback == saved
