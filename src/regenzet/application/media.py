"""The media storage port: where inspection photos, videos and check-in photos live.

The browser uploads straight to storage with a short-lived ticket (a URL plus form fields, an
HTML form POST in ``multipart/form-data``), never through the API process; the API then
confirms what was stored and records it. Two adapters implement this port and run one contract
suite (``tests/contracts``): S3 presigned POST/GET in production, and a directory under the
data dir with HMAC-signed tickets served by the API on a laptop.

Keys are chosen by the server only. An upload lands under ``pending/``; confirming moves it to
its final key. Storage never interprets the bytes: sniffing and decoding happen in the
application's confirm step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from regenzet.application.errors import ApplicationError

PENDING_PREFIX = "pending/"
MEDIA_PREFIX = "media/"
# An upload ticket lives at most this long (S3's presigned POST and the local ticket alike).
MAX_TICKET_SECONDS = 300

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
MAX_KEY_LENGTH = 1024


def check_key(key: str) -> str:
    """``key`` when it is a plain object key: ``/``-separated segments of letters, digits,
    ``.``, ``_`` and ``-``, none empty or starting with a dot (so no ``..``, no absolute path,
    no backslash or NUL); ``ValueError`` otherwise. Every adapter refuses other keys, so a
    key means the same file or object everywhere."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a media key is 1 to {MAX_KEY_LENGTH} characters")
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise ValueError(
            "a media key's segments are letters, digits, '.', '_' and '-', "
            "none empty or starting with a dot"
        )
    return key


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A bare media type (no parameters): it goes into a signed field and a response header.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def check_content_type(content_type: str) -> str:
    """``content_type`` when it is a bare lower-case media type; ``ValueError`` otherwise."""
    if not isinstance(content_type, str) or not _MEDIA_TYPE.fullmatch(content_type):
        raise ValueError(f"not a bare lower-case media type: {content_type!r}")
    return content_type


def check_upload(key: str, *, content_type: str, size: int, sha256: str, expires_in: int) -> None:
    """What every adapter's ``issue_upload`` refuses (``ValueError``): a key that is not a
    plain key under ``pending/``, a malformed type, an empty upload, a SHA-256 that is not 64
    lower-case hex digits, a lifetime outside 1..``MAX_TICKET_SECONDS``."""
    check_key(key)
    if not key.startswith(PENDING_PREFIX):
        raise ValueError(f"uploads go under {PENDING_PREFIX!r}, not {key!r}")
    check_content_type(content_type)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError("an upload is at least one byte")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ValueError("sha256 is 64 lower-case hex digits")
    if isinstance(expires_in, bool) or not 1 <= expires_in <= MAX_TICKET_SECONDS:
        raise ValueError(f"a ticket lives 1 to {MAX_TICKET_SECONDS} seconds")


# What a download may show in the browser (``inline``): the photo and video types the API
# accepts. Anything else (HTML, SVG, PDF...) goes out as an attachment of untyped bytes, so
# a presigned S3 GET (which carries no CSP of its own) can never render it on the bucket's
# origin, whatever the object is.
INLINE_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
}
UNTYPED = "application/octet-stream"
MAX_FILE_NAME = 200
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}")


def served_as(content_type: str, *, inline: bool) -> tuple[str, bool]:
    """The type and disposition a download really gets: ``inline`` only for the allowed
    photo and video types; any other type as an ``attachment`` of ``application/octet-stream``."""
    check_content_type(content_type)
    if content_type in INLINE_TYPES:
        return content_type, inline
    return UNTYPED, False


def _cleaned(filename: str) -> str:
    return "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\/').strip()


def download_name(filename: str, content_type: str) -> str:
    """The name a download is saved under: the uploader's stem without quotes, slashes or
    control characters, with the extension of the type it is served as (``walk.html``
    served as ``video/mp4`` is saved as ``walk.mp4``), at most ``MAX_FILE_NAME`` characters."""
    extension = INLINE_TYPES.get(content_type, ".bin")
    cleaned = _cleaned(filename)
    stem, dot, tail = cleaned.rpartition(".")
    if dot and stem and _EXTENSION.fullmatch(f".{tail}"):
        cleaned = stem
    cleaned = cleaned.strip() or "download"
    return cleaned[: MAX_FILE_NAME - len(extension)] + extension


def content_disposition(filename: str, *, inline: bool) -> str:
    """``Content-Disposition`` naming ``filename`` (RFC 6266): an ASCII fallback plus the UTF-8
    name (RFC 8187), without quotes, backslashes, slashes or control characters, so a stored
    file name can never break out of the header or name a path; at most ``MAX_FILE_NAME``
    characters. ``%`` is ``_`` in the fallback (some browsers percent-decode it)."""
    cleaned = _cleaned(filename)[:MAX_FILE_NAME] or "download"
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch != "%" else "_" for ch in cleaned)
    encoded = "".join(
        ch
        if ch.isascii() and (ch.isalnum() or ch in "!#$&+-.^_`|~")
        else "".join(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        for ch in cleaned
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """What the browser needs to upload one object: POST ``fields`` then the file (as the
    form field ``file``, last) to ``url``. Bound to one key, one content type, one exact size
    and one SHA-256; it expires at ``expires_at``."""

    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What storage says about an object it holds."""

    key: str
    size: int
    content_type: str
    # The SHA-256 (lower-case hex) storage checked or computed, when it has one.
    sha256: str | None
    # What names this version of the object (S3's ETag; the local file's inode and SHA-256):
    # ``read``, ``chunks`` and ``move`` given ``expected=`` this object refuse any other.
    etag: str | None = None
    # S3's version id on a versioned bucket: ``move`` copies exactly that version.
    version: str | None = None


class MediaObjectMissing(LookupError):
    """No object is stored under the key (not uploaded yet, swept, or deleted)."""


class MediaObjectChangedError(ApplicationError):
    """The object under the key is no longer the version the caller checked (``expected``):
    something was uploaded over it meanwhile. Nothing was read or moved (HTTP 409)."""


class TicketRefusedError(ApplicationError):
    """A signed upload ticket or download link is forged, tampered with, expired, already
    used, or names a key it may not (HTTP 403). Raised by storage that enforces its own
    tickets (the local adapter; S3 refuses such a POST itself)."""


class UploadTooLargeError(ApplicationError):
    """The uploaded body is larger than the ticket's signed size (HTTP 413); storage stopped
    reading at one byte past it."""


class UploadRefusedError(ApplicationError):
    """The uploaded bytes do not match the ticket: a different size, content type or SHA-256
    (HTTP 422). Nothing was kept."""


class MediaStorage(Protocol):
    """Object storage for media. Every method is blocking and thread-safe."""

    def issue_upload(
        self, key: str, *, content_type: str, size: int, sha256: str, expires_in: int
    ) -> UploadTicket:
        """A ticket for uploading exactly ``size`` bytes of ``content_type`` whose SHA-256 is
        ``sha256`` (lower-case hex) to ``key`` (under ``pending/``), valid for ``expires_in``
        seconds (at most ``MAX_TICKET_SECONDS``)."""
        ...

    def head(self, key: str) -> StoredObject:
        """Size, type and checksum of the object; ``MediaObjectMissing`` when absent."""
        ...

    def read(
        self, key: str, *, limit: int | None = None, expected: StoredObject | None = None
    ) -> bytes:
        """The object's bytes (the first ``limit`` bytes when given);
        ``MediaObjectMissing`` when absent; ``MediaObjectChangedError`` when ``expected`` (a
        ``head`` of it) no longer names what is stored."""
        ...

    def chunks(
        self, key: str, *, size: int = 1024 * 1024, expected: StoredObject | None = None
    ) -> Iterator[bytes]:
        """The object's bytes in chunks of at most ``size``, without holding it in memory (a
        200 MiB video is hashed this way). ``MediaObjectMissing`` and
        ``MediaObjectChangedError`` as for ``read``, raised by the call itself."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store derived bytes (a thumbnail, a preview without metadata) under ``key``."""
        ...

    def move(self, source: str, target: str, *, expected: StoredObject | None = None) -> None:
        """Move an object to a new key (out of ``pending/`` once confirmed). Idempotent: when
        ``source`` is gone and ``target`` exists, it does nothing. With ``expected`` (the
        ``head`` whose size and checksum the caller verified) it moves exactly that version
        or nothing (``MediaObjectChangedError``): an S3 upload ticket may be POSTed again
        within its lifetime, so what is under ``source`` can change between the checks and
        the move."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key is not an error."""
        ...

    def download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        expires_in: int,
        inline: bool = False,
    ) -> str:
        """A URL that serves the object for ``expires_in`` seconds, with the given content
        type and ``Content-Disposition`` naming ``filename``: ``inline`` (a preview shown in
        an ``<img>``) or, by default, ``attachment`` (a video, anything downloaded). Only
        the ``INLINE_TYPES`` are served as asked (``served_as``); the saved name takes the
        served type's extension (``download_name``)."""
        ...

    def pending_older_than(self, moment: datetime) -> Iterator[str]:
        """Keys under ``pending/`` stored before ``moment`` (for the sweep of unconfirmed
        uploads; S3 has a lifecycle rule for the same)."""
        ...


def sweep_pending(storage: MediaStorage, now: datetime, older_than: timedelta) -> list[str]:
    """Deletes the uploads never confirmed within ``older_than`` (their tickets expired
    minutes after issue, so nothing can still be on its way) and returns their keys. A later
    confirm of one finds it missing, as if it had never been uploaded. Idempotent."""
    if older_than <= timedelta(0):
        raise ValueError("only uploads older than a positive age are swept")
    swept = []
    for key in storage.pending_older_than(now - older_than):
        if not key.startswith(PENDING_PREFIX):  # never anything confirmed
            continue
        storage.delete(key)
        swept.append(key)
    return swept
