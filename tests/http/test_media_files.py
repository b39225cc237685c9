"""The local media routes (``POST /media-files/upload``, ``GET /media-files/download``) in the
composed API: every refusal of a ticket or link, with its problem and nothing left on disk,
byte ranges and the headers a served file carries."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio
import pytest
from litestar.testing import TestClient

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media import UploadTicket
from regenzet.entrypoints.bootstrap import Bootstrap, Overrides, memory_env
from regenzet.entrypoints.http.app import create_app
from regenzet.entrypoints.http.media_files import (
    DOWNLOAD_PATH,
    MAX_BYTES_BEFORE_FILE,
    READ_CHUNK,
    UPLOAD_PATH,
)
from regenzet.entrypoints.settings import Settings

from ..media_support import form_body, form_parts, in_chunks

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(300_000)


class Rig:
    def __init__(self, client: TestClient[Any], storage: LocalMediaStorage, clock: ManualClock):
        self.client = client
        self.storage = storage
        self.clock = clock

    def ticket(self, data: bytes = JPEG, content_type: str = "image/jpeg") -> UploadTicket:
        return self.storage.issue_upload(
            f"pending/inspections/{uuid4()}/{uuid4()}",
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            expires_in=300,
        )

    def post(
        self, fields: dict[str, str], data: bytes = JPEG, part_type: str | None = "image/jpeg"
    ) -> Any:
        body, content_type = form_body(fields, data, part_type=part_type)
        return self.client.post(
            UPLOAD_PATH, content=in_chunks(body), headers={"Content-Type": content_type}
        )

    def leftovers(self) -> list[str]:
        """Files under the media root, but the single-use markers of accepted tickets."""
        return sorted(
            path.relative_to(self.storage.root).as_posix()
            for path in self.storage.root.rglob("*")
            if path.is_file() and ".used" not in path.parts
        )


@pytest.fixture(scope="module")
def composed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The API as the bootstrap composes it, with its media on a manual clock."""
    data_dir: Path = tmp_path_factory.mktemp("media-files")
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    storage = LocalMediaStorage(
        data_dir / "media",
        LocalMediaStorage.secret_in(data_dir / "keys"),
        clock,
        upload_url=UPLOAD_PATH,
        download_url=DOWNLOAD_PATH,
    )
    boot = Bootstrap(
        Settings(data_dir=data_dir, database_url=None),
        Overrides(backend=memory_env(), media_storage=storage, followers_in_process=False),
    )
    parts = boot.http_parts()
    try:
        with TestClient(create_app(parts.services), raise_server_exceptions=False) as client:
            yield Rig(client, storage, clock)
    finally:
        parts.close()
        boot.close()


@pytest.fixture
def rig(composed: Rig) -> Iterator[Rig]:
    yield composed
    for key in composed.storage.pending_older_than(composed.clock.now() + timedelta(days=1)):
        composed.storage.delete(key)


def problem_of(response: Any, status: int, kind: str) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith(f"/{kind}"), body
    return str(body["detail"])


def test_an_upload_with_its_ticket_is_kept_and_answers_204(rig: Rig) -> None:
    ticket = rig.ticket()
    response = rig.post(ticket.fields)
    assert response.status_code == 204, response.text
    assert response.content == b""
    head = rig.storage.head(ticket.key)
    assert (head.size, head.content_type, head.sha256) == (
        len(JPEG),
        "image/jpeg",
        hashlib.sha256(JPEG).hexdigest(),
    )
    assert rig.storage.read(ticket.key) == JPEG


def test_a_reused_ticket_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    assert rig.post(ticket.fields).status_code == 204
    rig.storage.delete(ticket.key)
    detail = problem_of(rig.post(ticket.fields), 403, "ticket-refused")
    assert "already used" in detail
    assert ticket.key not in rig.leftovers()


def test_an_expired_ticket_is_refused(rig: Rig) -> None:
    ticket = rig.storage.issue_upload(
        f"pending/inspections/{uuid4()}/{uuid4()}",
        content_type="image/jpeg",
        size=len(JPEG),
        sha256=hashlib.sha256(JPEG).hexdigest(),
        expires_in=30,
    )
    before = rig.leftovers()
    rig.clock.advance(timedelta(seconds=30))
    assert "expired" in problem_of(rig.post(ticket.fields), 403, "ticket-refused")
    assert rig.leftovers() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "pending/inspections/someone-else/x"),
        ("Content-Type", "image/png"),
        ("x-regenzet-size", str(len(JPEG) + 1)),
        ("x-amz-checksum-sha256", base64.b64encode(b"\x00" * 32).decode()),
        ("expires", "99999999999"),
        ("signature", "f" * 64),
    ],
)
def test_a_tampered_field_is_refused(rig: Rig, field: str, value: str) -> None:
    fields = {**rig.ticket().fields, field: value}
    before = rig.leftovers()
    assert "signature" in problem_of(rig.post(fields), 403, "ticket-refused")
    assert rig.leftovers() == before


@pytest.mark.parametrize(
    "key",
    [
        "../keys/media-secret",
        "pending/../../keys/media-secret",
        "/etc/passwd",
        "pending\\..\\x",
        "pending/x\x00",
        "media/inspections/a/b/original",  # outside pending/
        ".meta/pending/x.json",
    ],
)
def test_a_key_outside_pending_is_refused_even_when_signed(rig: Rig, key: str) -> None:
    """As if the signing key had leaked: the key itself is still checked."""
    ticket = rig.ticket()
    fields = {**ticket.fields, "key": key}
    fields["signature"] = rig.storage._sign(
        "upload",
        key,
        fields["Content-Type"],
        fields["x-regenzet-size"],
        fields["x-amz-checksum-sha256"],
        fields["expires"],
    )
    before = rig.leftovers()
    problem_of(rig.post(fields), 403, "ticket-refused")
    assert rig.leftovers() == before
    assert not (rig.storage.root.parent / "etc").exists()


def test_a_body_shorter_than_signed_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    detail = problem_of(rig.post(ticket.fields, JPEG[:-10]), 422, "upload-refused")
    assert f"{len(JPEG) - 10} bytes" in detail
    assert ticket.key not in rig.leftovers()


def test_a_file_of_another_type_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    detail = problem_of(rig.post(ticket.fields, part_type="text/html"), 422, "upload-refused")
    assert "text/html" in detail
    assert ticket.key not in rig.leftovers()


def test_a_file_with_another_checksum_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    changed = JPEG[:-1] + bytes([JPEG[-1] ^ 1])
    detail = problem_of(rig.post(ticket.fields, changed), 422, "upload-refused")
    assert "SHA-256" in detail
    assert ticket.key not in rig.leftovers()
    assert rig.post(ticket.fields).status_code == 204  # a refusal does not use the ticket up


def test_an_oversize_body_is_refused_as_it_streams(rig: Rig) -> None:
    ticket = rig.ticket()
    head, tail, content_type = form_parts(ticket.fields, part_type="image/jpeg")
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield head
        chunk = b"\xff" * (64 * 1024)
        for _ in range(200):  # 12.5 MiB against a 300 kB ticket
            sent += len(chunk)
            yield chunk
        yield tail

    response = rig.client.post(UPLOAD_PATH, content=body(), headers={"Content-Type": content_type})
    detail = problem_of(response, 413, "upload-too-large")
    assert str(len(JPEG)) in detail
    assert ticket.key not in rig.leftovers()
    assert list((rig.storage.root / ".incoming").iterdir()) == []


def test_a_body_that_is_not_a_form_is_refused(rig: Rig) -> None:
    response = rig.client.post(UPLOAD_PATH, json=rig.ticket().fields)
    problem_of(response, 400, "invalid-request")
    response = rig.client.post(
        UPLOAD_PATH, content=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data"}
    )
    problem_of(response, 400, "invalid-request")


def test_a_form_without_the_file_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    body, content_type = form_body(ticket.fields, JPEG, boundary="zz")
    fields_only = body.split(b'--zz\r\nContent-Disposition: form-data; name="file"')[0]
    response = rig.client.post(
        UPLOAD_PATH, content=fields_only + b"--zz--\r\n", headers={"Content-Type": content_type}
    )
    problem_of(response, 400, "invalid-request")
    missing = {k: v for k, v in ticket.fields.items() if k != "signature"}
    assert "signature" in problem_of(rig.post(missing), 403, "ticket-refused")
    assert ticket.key not in rig.leftovers()


def test_a_field_after_the_file_is_refused_and_nothing_kept(rig: Rig) -> None:
    ticket = rig.ticket()
    body, content_type = form_body(ticket.fields, JPEG, boundary="zz")
    extra = b'--zz\r\nContent-Disposition: form-data; name="acl"\r\n\r\npublic-read\r\n'
    body = body.removesuffix(b"--zz--\r\n") + extra + b"--zz--\r\n"
    response = rig.client.post(
        UPLOAD_PATH, content=in_chunks(body), headers={"Content-Type": content_type}
    )
    assert "none after it" in problem_of(response, 403, "ticket-refused")
    assert ticket.key not in rig.leftovers()
    assert rig.post(ticket.fields).status_code == 204  # the ticket was not spent


@pytest.mark.parametrize("twice", ["key", "KEY"])
def test_a_field_given_twice_is_refused(rig: Rig, twice: str) -> None:
    ticket = rig.ticket()
    fields = list(ticket.fields.items())
    # The duplicate takes the signature's place, so the part count stays within bounds.
    doubled = dict([*fields[:1], *fields[1:-1]])
    head, tail, content_type = form_parts(doubled, part_type="image/jpeg")
    duplicate = f'Content-Disposition: form-data; name="{twice}"\r\n\r\n{ticket.fields["key"]}\r\n'
    boundary = content_type.split("boundary=")[1]
    head = f"--{boundary}\r\n{duplicate}".encode() + head
    response = rig.client.post(
        UPLOAD_PATH, content=head + JPEG + tail, headers={"Content-Type": content_type}
    )
    assert "twice" in problem_of(response, 403, "ticket-refused")
    assert ticket.key not in rig.leftovers()


def test_a_form_with_too_many_parts_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    fields = {**ticket.fields, "acl": "public-read", "x-amz-meta-a": "b"}
    response = rig.post(fields)
    problem_of(response, 400, "invalid-request")
    assert ticket.key not in rig.leftovers()
    assert list((rig.storage.root / ".incoming").iterdir()) == []


def test_a_field_longer_than_any_tickets_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    response = rig.post({**ticket.fields, "key": "p" * 3000})
    assert "longer" in problem_of(response, 403, "ticket-refused")
    assert list((rig.storage.root / ".incoming").iterdir()) == []


def test_a_body_with_no_file_within_the_budget_is_refused(rig: Rig) -> None:
    boundary = "zz"
    padding = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\n'.encode()
        + b"x" * 100
        + b"\r\n"
        for n in range(3)
    )
    # One long preamble before the first part: bytes that are not a ticket's fields.
    body = b"y" * (MAX_BYTES_BEFORE_FILE + READ_CHUNK + 1) + b"\r\n" + padding
    response = rig.client.post(
        UPLOAD_PATH,
        content=in_chunks(body),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "no file" in problem_of(response, 400, "invalid-request")


def test_a_part_header_that_is_not_utf8_is_refused(rig: Rig) -> None:
    ticket = rig.ticket()
    body, content_type = form_body(ticket.fields, JPEG, boundary="zz")
    body = body.replace(b'name="key"', b'name="k\xff\xfey"', 1)
    response = rig.client.post(UPLOAD_PATH, content=body, headers={"Content-Type": content_type})
    assert response.status_code in {400, 403}, response.text
    assert list((rig.storage.root / ".incoming").iterdir()) == []


# -- uploads in flight, driven below the test client so a body can pause mid-way ----------

Step = bytes | Callable[[], Awaitable[None]]
DISCONNECT = b"<the client goes away>"


async def _drive(app: Any, content_type: str, steps: list[Step]) -> tuple[int, bytes]:
    """One upload straight into the ASGI app: each ``bytes`` step is a body chunk, each
    callable is awaited between chunks (another request, a clock jump, a stall)."""
    queue = list(steps)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        while queue:
            step = queue.pop(0)
            if step == DISCONNECT:
                return {"type": "http.disconnect"}
            if isinstance(step, bytes):
                return {"type": "http.request", "body": step, "more_body": True}
            await step()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": UPLOAD_PATH,
        "raw_path": UPLOAD_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", content_type.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), 0)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def _split(rig: Rig, ticket: UploadTicket) -> tuple[bytes, bytes, str]:
    """The body up to half the file, the rest, and the body's type."""
    body, content_type = form_body(ticket.fields, JPEG, part_type="image/jpeg")
    middle = len(body) - len(JPEG) // 2
    return body[:middle], body[middle:], content_type


def test_a_second_upload_with_a_ticket_in_flight_is_refused_at_once(rig: Rig) -> None:
    ticket = rig.ticket()
    first, rest, content_type = _split(rig, ticket)
    app = rig.client.app
    second: list[tuple[int, bytes]] = []

    async def meanwhile() -> None:
        incoming = sorted((rig.storage.root / ".incoming").iterdir())
        second.append(await _drive(app, content_type, [first, rest]))
        assert sorted((rig.storage.root / ".incoming").iterdir()) == incoming  # nothing written

    status, _ = anyio.run(_drive, app, content_type, [first, meanwhile, rest])
    assert status == 204
    ((refused, problem),) = second
    assert refused == 403
    assert b"under way" in problem
    assert rig.storage.read(ticket.key) == JPEG


def test_a_client_that_goes_away_mid_file_leaves_nothing_and_the_ticket_usable(
    rig: Rig,
) -> None:
    ticket = rig.ticket()
    first, _rest, content_type = _split(rig, ticket)
    anyio.run(_drive, rig.client.app, content_type, [first, DISCONNECT])
    assert ticket.key not in rig.leftovers()
    assert list((rig.storage.root / ".incoming").iterdir()) == []
    assert rig.post(ticket.fields).status_code == 204


def test_an_upload_still_arriving_when_the_ticket_and_its_grace_run_out_is_refused(
    rig: Rig,
) -> None:
    ticket = rig.ticket()
    first, rest, content_type = _split(rig, ticket)

    async def later() -> None:
        rig.clock.advance(timedelta(seconds=300 + rig.storage.finish_grace_seconds + 1))

    status, problem = anyio.run(_drive, rig.client.app, content_type, [first, later, rest])
    assert status == 403
    assert b"expired before the file arrived" in problem
    assert ticket.key not in rig.leftovers()
    assert list((rig.storage.root / ".incoming").iterdir()) == []


def test_a_body_that_trickles_is_cut_off_and_leaves_the_ticket_usable(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rig.storage, "upload_seconds", 0.3)
    ticket = rig.ticket()
    first, _rest, content_type = _split(rig, ticket)

    async def stall() -> None:
        await anyio.sleep(30)

    started = time.monotonic()
    status, problem = anyio.run(_drive, rig.client.app, content_type, [first, stall])
    assert status == 408
    assert b"request-timeout" in problem
    assert time.monotonic() - started < 10
    assert ticket.key not in rig.leftovers()
    assert list((rig.storage.root / ".incoming").iterdir()) == []
    monkeypatch.undo()
    assert rig.post(ticket.fields).status_code == 204


# -- downloads -----------------------------------------------------------------------------


def _object(rig: Rig, data: bytes, content_type: str = "video/mp4") -> str:
    key = f"media/inspections/{uuid4()}/{uuid4()}/original"
    rig.storage.put(key, data, content_type=content_type)
    return key


def _link(rig: Rig, key: str, content_type: str = "video/mp4", **kwargs: Any) -> str:
    return rig.storage.download_url(
        key, filename="walk-around.mp4", content_type=content_type, expires_in=120, **kwargs
    )


def test_a_download_carries_the_headers_that_keep_a_browser_from_running_it(rig: Rig) -> None:
    video = os.urandom(5000)
    response = rig.client.get(_link(rig, _object(rig, video)))
    assert response.status_code == 200
    assert response.content == video
    headers = response.headers
    assert headers["content-type"] == "video/mp4"
    assert headers["content-disposition"] == (
        "attachment; filename=\"walk-around.mp4\"; filename*=UTF-8''walk-around.mp4"
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"
    assert headers["cache-control"] == "private, max-age=120"
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-length"] == "5000"


def test_a_preview_is_served_inline_under_a_safe_file_name(rig: Rig) -> None:
    key = _object(rig, b"RIFF....WEBP", "image/webp")
    url = rig.storage.download_url(
        key,
        filename='remsschijf "links"\r\n/../é.webp',
        content_type="image/webp",
        expires_in=60,
        inline=True,
    )
    disposition = rig.client.get(url).headers["content-disposition"]
    assert disposition.startswith('inline; filename="remsschijf links..')
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert "/" not in disposition.split("filename*=")[0]
    assert disposition.endswith("%C3%A9.webp")


@pytest.mark.parametrize(
    ("header", "status", "first", "last"),
    [
        ("bytes=0-99", 206, 0, 99),
        ("bytes=100-", 206, 100, 9999),
        ("bytes=-500", 206, 9500, 9999),
        ("bytes=9000-20000", 206, 9000, 9999),
        ("bytes=0-0", 206, 0, 0),
    ],
)
def test_a_range_is_served_as_206(
    rig: Rig, header: str, status: int, first: int, last: int
) -> None:
    video = os.urandom(10_000)
    response = rig.client.get(_link(rig, _object(rig, video)), headers={"Range": header})
    assert response.status_code == status
    assert response.content == video[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/10000"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("header", ["bytes=10000-", "bytes=20000-30000", "bytes=-0"])
def test_a_range_past_the_end_is_416(rig: Rig, header: str) -> None:
    response = rig.client.get(
        _link(rig, _object(rig, os.urandom(10_000))), headers={"Range": header}
    )
    problem_of(response, 416, "range-not-satisfiable")
    assert response.headers["content-range"] == "bytes */10000"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-1", "bytes=9-3", "nonsense"])
def test_a_range_we_may_ignore_serves_the_whole_file(rig: Rig, header: str) -> None:
    video = os.urandom(1000)
    response = rig.client.get(_link(rig, _object(rig, video)), headers={"Range": header})
    assert response.status_code == 200
    assert response.content == video


def test_a_changed_or_expired_link_is_403_and_a_deleted_object_404(rig: Rig) -> None:
    key = _object(rig, b"\x00" * 100)
    url = _link(rig, key)
    for original, changed in [
        ("ct=video%2Fmp4", "ct=text%2Fhtml"),
        ("disp=attachment", "disp=inline"),
        ("fn=walk-around.mp4", "fn=walk-around.html"),
    ]:
        assert original in url
        problem_of(rig.client.get(url.replace(original, changed)), 403, "ticket-refused")
    rig.storage.delete(key)
    problem_of(rig.client.get(url), 404, "not-found")
    later = _link(rig, _object(rig, b"\x00"))
    rig.clock.advance(timedelta(seconds=120))
    assert "expired" in problem_of(rig.client.get(later), 403, "ticket-refused")


def test_a_link_with_a_missing_part_is_a_400(rig: Rig) -> None:
    url = _link(rig, _object(rig, b"\x00"))
    problem_of(rig.client.get(url.split("&sig=")[0]), 400, "invalid-request")


def test_the_ticket_url_is_the_mounted_route_documented_as_a_form(rig: Rig) -> None:
    assert rig.ticket().url == UPLOAD_PATH
    document = rig.client.get("/schema/openapi.json").json()
    upload = document["paths"][UPLOAD_PATH]["post"]
    assert upload["operationId"] == "uploadMediaFile"
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == [
        "key",
        "Content-Type",
        "x-regenzet-size",
        "x-amz-checksum-sha256",
        "expires",
        "signature",
        "file",
    ]
    assert "security" not in upload or upload["security"] in ([], [{}])
    assert document["paths"][DOWNLOAD_PATH]["get"]["operationId"] == "downloadMediaFile"


def test_the_signed_routes_are_not_mounted_when_media_live_in_s3(tmp_path: Path) -> None:
    import boto3

    from regenzet.adapters.media_s3 import S3MediaStorage

    client = boto3.client(
        "s3", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    boot = Bootstrap(
        Settings(data_dir=tmp_path, database_url=None),
        Overrides(
            backend=memory_env(),
            media_storage=S3MediaStorage(client, "regenzet-media", "alias/media"),
            followers_in_process=False,
        ),
    )
    parts = boot.http_parts()
    try:
        assert parts.services.media is boot.media_storage
        assert parts.services.media_files is None
        app = create_app(parts.services)
        assert not [route for route in app.routes if route.path.startswith("/api/v1/media-files")]
    finally:
        parts.close()
        boot.close()
