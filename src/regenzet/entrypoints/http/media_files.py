"""The local media backend's upload and download routes (ADR 0041): the API plays S3's part.

Mounted only when media live on the local disk (``REGENZET_MEDIA_BACKEND=local``). No bearer
token: the HMAC signature of the ticket or link is the authority, as S3's policy is for a
presigned POST. The storage they call (``SignedMediaFiles``) does the checking; these routes
only move bytes:

- ``POST /api/v1/media-files/upload`` reads the ``multipart/form-data`` body as it arrives
  (never the whole body in memory): the ticket's fields first, checked before a byte of the
  file is read; then the file, written to a temp file in the media root while hashing, and
  refused (413) the moment it passes the signed size; then the size, type and SHA-256 are
  checked and only then is the file renamed into place. 204 on success; nothing is kept on
  any refusal. The parsing, the writes and the hashing run in a worker thread; one ticket
  drives one upload at a time; the whole body must arrive within the storage's
  ``upload_seconds`` and before the ticket's expiry plus its grace (408 otherwise).
- ``GET /api/v1/media-files/download?...`` serves an object under a signed, expiring link
  with the signed content type and disposition, ``nosniff`` and ``CSP: sandbox``, and byte
  ranges (206/416) for video.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from stat import S_ISREG
from types import TracebackType
from typing import Annotated, Any, BinaryIO, Literal, Protocol

import anyio
from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import ClientException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import HeaderParameter, QueryParameter, SkipValidation
from litestar.response import Stream
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from regenzet.application.media import (
    MediaObjectMissing,
    StoredObject,
    TicketRefusedError,
    UploadTooLargeError,
)
from regenzet.entrypoints.http.problems import ApiError
from regenzet.entrypoints.http.schemas import Problem
from regenzet.entrypoints.http.security import _too_many

__all__ = [
    "DOWNLOAD_PATH",
    "SIGNED_FIELDS",
    "UPLOAD_PATH",
    "MediaDownload",
    "MediaUpload",
    "SignedMediaFiles",
    "media_files_router",
]

BASE = "/api/v1/media-files"
UPLOAD_PATH = f"{BASE}/upload"
DOWNLOAD_PATH = f"{BASE}/download"
# The ticket's form fields, in order (the local adapter signs exactly these), then ``file``.
SIGNED_FIELDS = (
    "key",
    "Content-Type",
    "x-regenzet-size",
    "x-amz-checksum-sha256",
    "expires",
    "signature",
)
# Before the file: the fields are a few hundred characters; more is not a ticket.
MAX_FIELD_BYTES = 2048
MAX_BYTES_BEFORE_FILE = 64 * 1024
# After the file: the closing delimiter (a boundary is at most 70 characters), nothing more.
MAX_BYTES_AFTER_FILE = 4096
READ_CHUNK = 256 * 1024
# The file's bytes go to the worker thread in batches of about this much.
BATCH_BYTES = 256 * 1024


class MediaUpload(Protocol):
    """One upload being received (the local adapter's ``LocalUpload``)."""

    def __enter__(self) -> MediaUpload: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def write(self, chunk: bytes) -> None: ...

    def finish(self, part_content_type: str | None = None) -> StoredObject: ...

    def abort(self) -> None: ...

    def seconds_left(self) -> float: ...


class MediaDownload(Protocol):
    """A verified link: the file, how to label it, how many seconds it may be cached."""

    @property
    def path(self) -> Path: ...

    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...

    @property
    def content_disposition(self) -> str: ...

    @property
    def max_age(self) -> int: ...


class SignedMediaFiles(Protocol):
    """What these routes need from storage that checks its own tickets and links."""

    @property
    def upload_seconds(self) -> float: ...

    def begin_upload(self, fields: Mapping[str, str]) -> MediaUpload: ...

    def resolve_download(self, params: Mapping[str, str]) -> MediaDownload: ...


# Litestar would check the dependency against the Protocol; it is ours, built by the root.
Files = SkipValidation[SignedMediaFiles]


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        generate_examples=False,
        description=description,
        media_type="application/problem+json",
    )


_TOO_MANY = _problem("Rate limit exceeded; see Retry-After.")
_UNAVAILABLE = _problem("Media storage is unavailable; see Retry-After.")


@dataclasses.dataclass
class _UploadOperation(Operation):
    """The upload's body, documented by hand: the handler streams it instead of letting the
    framework parse (and buffer) the form."""

    def __post_init__(self) -> None:
        text = Schema(type=OpenAPIType.STRING, max_length=MAX_FIELD_BYTES)
        properties: dict[str, Any] = dict.fromkeys(SIGNED_FIELDS, text)
        properties["file"] = Schema(
            type=OpenAPIType.STRING,
            format="binary",  # type: ignore[arg-type]
            description="The file, last; exactly the ticket's size, type and SHA-256.",
        )
        self.request_body = RequestBody(
            required=True,
            description=(
                "The upload ticket's `fields`, in order, then the file as `file` (last), as an "
                "HTML form POST sends them."
            ),
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=[*SIGNED_FIELDS, "file"],
                        properties=properties,
                        additional_properties=False,
                    )
                )
            },
        )


def _boundary(content_type: str | None) -> str:
    kind, options = parse_options_header(content_type or "")
    boundary = str(options.get("boundary", ""))
    if kind != "multipart/form-data" or not boundary:
        raise ApiError(
            400,
            "invalid-request",
            "the upload is a multipart/form-data body: the ticket's fields, then the file",
        )
    return boundary


class _Receiver:
    """Feeds the parser's events to the upload: fields until ``file``, then its bytes, then
    nothing but the closing delimiter. Blocking (it writes and hashes): run in a thread."""

    def __init__(self, files: SignedMediaFiles) -> None:
        self.files = files
        self.fields: dict[str, str] = {}
        self.name: str | None = None
        self.value = bytearray()
        self.upload: MediaUpload | None = None
        self.part_type: str | None = None
        self.before_file = 0
        self.after_file = 0
        self.file_ended = False

    def feed(self, parser: PushMultipartParser, received: bytes) -> None:
        """Parses what the server received in slices of ``READ_CHUNK``, so the fields' budget
        and the signed size are checked however large the server's chunks are."""
        for start in range(0, len(received), READ_CHUNK):
            chunk = received[start : start + READ_CHUNK]
            if self.upload is None:
                self.before_file += len(chunk)
                if self.before_file > MAX_BYTES_BEFORE_FILE + READ_CHUNK:
                    raise ApiError(400, "invalid-request", "no file after the ticket's fields")
            elif self.file_ended:
                self.after_file += len(chunk)
                if self.after_file > MAX_BYTES_AFTER_FILE:
                    raise TicketRefusedError("nothing but the form's end may follow the file")
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    self.segment(event)
                elif event is None:
                    self.end()
                else:
                    self.data(event)

    def close(self, parser: PushMultipartParser) -> None:
        """The body ended: the form must be complete (``MultipartError`` otherwise)."""
        for event in parser.parse(b""):
            if event is None:
                self.end()

    def segment(self, segment: MultipartSegment) -> None:
        if self.upload is not None:
            # S3 ignores what follows the file; a ticket here is exactly its fields, so a
            # field after the file (say ``acl``) is refused rather than silently dropped.
            raise TicketRefusedError("the ticket's fields come before the file, none after it")
        if segment.disposition != "form-data" or not segment.name:
            raise ApiError(400, "invalid-request", "every part of the form is named form-data")
        if segment.name == "file":
            # The whole ticket is known: check it before reading any of the file.
            self.upload = self.files.begin_upload(self.fields)
            self.part_type = segment.content_type
            return
        if segment.name in self.fields:
            raise TicketRefusedError(f"the ticket field {segment.name!r} is given twice")
        self.name = segment.name
        self.value = bytearray()

    def data(self, chunk: bytes) -> None:
        if self.upload is not None:
            self.upload.write(chunk)
            return
        self.value += chunk
        if len(self.value) > 4 * MAX_FIELD_BYTES:  # UTF-8: at most 4 bytes a character
            raise TicketRefusedError("a ticket field is longer than any ticket's")

    def end(self) -> None:
        if self.upload is not None:
            self.file_ended = True
            return
        if self.name is None:
            return
        try:
            value = self.value.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid-request", "a ticket field is not UTF-8 text") from None
        if len(value) > MAX_FIELD_BYTES:
            raise TicketRefusedError("a ticket field is longer than any ticket's")
        self.fields[self.name] = value
        self.name = None


@post(
    "/upload",
    operation_id="uploadMediaFile",
    summary="Upload a file with a local upload ticket",
    description=(
        "The local backend's stand-in for S3's presigned POST. No bearer token: the ticket's "
        "signature is the credential. The body is read as it arrives; the ticket is checked "
        "before the file, and the file against the ticket before it is kept. 403: a forged, "
        "tampered, expired or used ticket, one already being uploaded with, a key outside "
        "`pending/`, or a field after the file; 408: the body did not arrive within the "
        "ticket's lifetime (plus a minute) or the route's limit; 413: more bytes than the "
        "ticket's size; 422: a different size, type or SHA-256. Nothing is kept on any "
        "refusal, and a refused upload leaves the ticket usable."
    ),
    status_code=204,
    request_max_body_size=None,  # bounded as it streams: the ticket's size, plus the fields
    operation_class=_UploadOperation,
    tags=["media"],
    responses={
        400: _problem("Not a multipart/form-data body of the ticket's fields and a file."),
        403: _problem("The ticket is forged, tampered with, expired, used or out of bounds."),
        408: _problem("The body did not arrive in time."),
        413: _problem("The file is larger than the ticket's size."),
        422: _problem("The file's size, type or SHA-256 is not the ticket's."),
        429: _TOO_MANY,
        503: _UNAVAILABLE,
    },
)
async def upload_media_file(request: Request[Any, Any, Any], files: Files) -> None:
    receiver = _Receiver(files)
    parser = PushMultipartParser(
        _boundary(request.headers.get("content-type")),
        max_header_count=4,
        # The fields, the file, and one more: a part after the file is refused by name (403)
        # rather than by count; anything beyond that is not a form we read.
        max_segment_count=len(SIGNED_FIELDS) + 2,
    )
    limit = files.upload_seconds
    try:
        # A body that trickles is cut off: at the route's limit, and once the ticket is known
        # at its expiry plus the grace (finish would refuse it then anyway).
        with anyio.move_on_after(limit) as deadline:
            try:
                batch: list[bytes] = []
                batched = 0
                async for received in request.stream():
                    batch.append(received)
                    batched += len(received)
                    # Each chunk as it comes until the ticket is checked (a refusal is at
                    # once); then the file in batches, so the thread hops stay few.
                    if receiver.upload is not None and batched < BATCH_BYTES:
                        continue
                    chunk, batch, batched = b"".join(batch), [], 0
                    began = receiver.upload is not None
                    await anyio.to_thread.run_sync(receiver.feed, parser, chunk)
                    if not began and receiver.upload is not None:
                        deadline.deadline = min(
                            deadline.deadline,
                            anyio.current_time() + receiver.upload.seconds_left(),
                        )
                await anyio.to_thread.run_sync(receiver.feed, parser, b"".join(batch))
                await anyio.to_thread.run_sync(receiver.close, parser)
            except MultipartError as exc:
                raise ApiError(400, "invalid-request", f"not a well-formed form: {exc}") from None
            except ClientException as exc:  # the framework's own body limits
                raise UploadTooLargeError(str(exc.detail)) from None
        if deadline.cancelled_caught:
            raise ApiError(
                408,
                "request-timeout",
                "the upload did not arrive in time (the ticket's lifetime, or "
                f"{limit:g} seconds at most); ask for a new ticket",
            )
        upload = receiver.upload
        if upload is None or not receiver.file_ended:
            raise ApiError(400, "invalid-request", "the body ended before the whole file")
        # fsync and rename: off the event loop.
        await anyio.to_thread.run_sync(upload.finish, receiver.part_type)
    finally:
        if receiver.upload is not None:
            receiver.upload.abort()  # nothing once the file was kept


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``header`` asks for, as (first, last) inclusive; None to serve the whole
    object (no header, or one we may ignore: several ranges, another unit, malformed).
    ``ApiError`` 416 when it asks for nothing the object has."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    unsatisfiable = ApiError(
        416,
        "range-not-satisfiable",
        f"the object has {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored (RFC 9110 §14.1.1)
    if start >= size:
        raise unsatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def _chunks(stream: BinaryIO, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = stream.read(min(READ_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        stream.close()


@get(
    "/download",
    operation_id="downloadMediaFile",
    summary="Download a file with a signed local link",
    description=(
        "Serves an object under a link minted by the API (the local stand-in for a presigned "
        "GET): the signed content type and `Content-Disposition`, `nosniff`, `CSP: sandbox`, "
        "and byte ranges. 403: a forged, changed or expired link; 404: the object is gone."
    ),
    sync_to_thread=True,
    tags=["media"],
    response_description="The object's bytes (in the link's content type).",
    responses={
        206: ResponseSpec(
            data_container=bytes,
            generate_examples=False,
            description="The requested byte range.",
            media_type="application/octet-stream",
        ),
        400: _problem("A part of the link is missing or malformed."),
        403: _problem("The link is forged, changed or expired."),
        404: _problem("The object is no longer stored."),
        416: _problem("The range asks for bytes the object does not have."),
        429: _TOO_MANY,
        503: _UNAVAILABLE,
    },
)
def download_media_file(
    files: Files,
    key: Annotated[str, QueryParameter(min_length=1, max_length=1024, description="Object key")],
    ct: Annotated[str, QueryParameter(min_length=3, max_length=255, description="Content type")],
    file_name: Annotated[
        str, QueryParameter(name="fn", max_length=255, description="File name to save as")
    ],
    disp: Annotated[Literal["inline", "attachment"], QueryParameter(description="Disposition")],
    exp: Annotated[str, QueryParameter(pattern=r"^[0-9]{1,12}$", description="Expiry (Unix s)")],
    sig: Annotated[str, QueryParameter(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256")],
    range_header: Annotated[
        str | None, HeaderParameter(name="Range", required=False, max_length=200)
    ] = None,
) -> Stream:
    params = {"key": key, "ct": ct, "fn": file_name, "disp": disp, "exp": exp, "sig": sig}
    try:
        download = files.resolve_download(params)
        stream = download.path.open("rb")  # held open: a sweep may delete the name meanwhile
    except (MediaObjectMissing, FileNotFoundError, IsADirectoryError):
        raise ApiError(404, "not-found", "the file is no longer stored") from None
    # The size of the file actually opened (the name may have been replaced since the link
    # was resolved: a preview rewritten, a move), so the headers describe what is streamed.
    opened = os.fstat(stream.fileno())
    if not S_ISREG(opened.st_mode):
        stream.close()
        raise ApiError(404, "not-found", "the file is no longer stored")
    size = opened.st_size
    headers = {
        "Content-Disposition": download.content_disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": f"private, max-age={download.max_age}",
        "Accept-Ranges": "bytes",
    }
    try:
        wanted = _byte_range(range_header, size)
    except ApiError:
        stream.close()
        raise
    status = 200
    first, length = 0, size
    if wanted is not None:
        first, last = wanted
        length = last - first + 1
        stream.seek(first)
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(length)
    return Stream(
        _chunks(stream, length),
        status_code=status,
        media_type=download.content_type,
        headers=headers,
    )


def media_files_router(files: SignedMediaFiles, gatekeeper: Any) -> Router:
    """The two routes on a router of their own: the per-address rate limit every route has,
    no bearer token (the signature is checked by storage, in the handler)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        wait = gatekeeper.per_ip.acquire(gatekeeper.client_ip(connection))
        if wait:
            raise _too_many(wait)

    def provide_files() -> SignedMediaFiles:
        return files

    return Router(
        path=BASE,
        route_handlers=[upload_media_file, download_media_file],
        guards=[guard],
        dependencies={"files": Provide(provide_files, sync_to_thread=False)},
    )
