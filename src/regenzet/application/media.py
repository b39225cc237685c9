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
from datetime import datetime
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


class MediaObjectMissing(LookupError):
    """No object is stored under the key (not uploaded yet, swept, or deleted)."""


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

    def read(self, key: str, *, limit: int | None = None) -> bytes:
        """The object's bytes (the first ``limit`` bytes when given);
        ``MediaObjectMissing`` when absent."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store derived bytes (a thumbnail, a preview without metadata) under ``key``."""
        ...

    def move(self, source: str, target: str) -> None:
        """Move an object to a new key (out of ``pending/`` once confirmed). Idempotent: when
        ``source`` is gone and ``target`` exists, it does nothing."""
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
        an ``<img>``) or, by default, ``attachment`` (a video, anything downloaded)."""
        ...

    def pending_older_than(self, moment: datetime) -> Iterator[str]:
        """Keys under ``pending/`` stored before ``moment`` (for the sweep of unconfirmed
        uploads; S3 has a lifecycle rule for the same)."""
        ...
