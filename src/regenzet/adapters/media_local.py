"""Media storage in a directory under the data dir, with HMAC-signed upload tickets and links.

The laptop's stand-in for S3 (``LocalMediaStorage``): the API issues the same kind of ticket
as a presigned POST (a URL plus form fields) and serves the upload and download routes for it
(``entrypoints/http/media_files.py``), so the browser's code is the same for both backends.

Layout under the root (``<data dir>/media``)::

    pending/..., media/...      the objects, one file per key (keys map to paths one to one)
    .meta/<key>.json           sidecar: content type, size, sha256, stored_at, inode
    .incoming/<uuid>.part      an upload being received (renamed into place once verified)
    .used/<expires>-<sig>.inflight  a ticket an upload is running on (O_EXCL: one at a time)
    .used/<expires>-<sig>      a ticket that was spent (the claim renamed once the file is kept)

A key is a ``/``-separated path of segments made of letters, digits, ``.``, ``_``, ``-``,
none starting with a dot (so no ``..``, and no key reaches the dot-directories); a backslash,
NUL, a leading ``/`` or anything that resolves outside the root is refused.

A ticket signs, with HMAC-SHA256 and a random key kept in ``<data dir>/keys/media-secret``
(0600), the object key, the content type, the exact size, the SHA-256 and the expiry; a
download link signs the key, the content type, the file name, the disposition and the expiry.
Both use the same key with a different purpose prefix, so one can never stand for the other.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from types import TracebackType
from typing import Any, BinaryIO, ParamSpec, TypeVar
from urllib.parse import urlencode

import attrs

from regenzet.application.errors import StoreUnavailableError
from regenzet.application.media import (
    PENDING_PREFIX,
    MediaObjectChangedError,
    MediaObjectMissing,
    StoredObject,
    TicketRefusedError,
    UploadRefusedError,
    UploadTicket,
    UploadTooLargeError,
    check_content_type,
    check_key,
    check_upload,
    content_disposition,
    download_name,
    served_as,
)
from regenzet.application.ports import Clock

__all__ = [
    "DOWNLOAD_PATH",
    "MAX_LINK_SECONDS",
    "UPLOAD_FIELDS",
    "UPLOAD_PATH",
    "LocalDownload",
    "LocalMediaStorage",
    "LocalUpload",
    "media_key_path",
]

# Where the API serves the local routes. Relative URLs: the browser resolves them against the
# API's origin, which serves the web app too (or proxies /api in the dev server).
UPLOAD_PATH = "/api/v1/media-files/upload"
DOWNLOAD_PATH = "/api/v1/media-files/download"
# The form fields of a ticket, in the order the browser sends them (then ``file``, last).
UPLOAD_FIELDS = (
    "key",
    "Content-Type",
    "x-regenzet-size",
    "x-amz-checksum-sha256",
    "expires",
    "signature",
)
# A download link lives at most a week (S3's presigned GET limit).
MAX_LINK_SECONDS = 7 * 24 * 3600
# An upload begun before its ticket expired may finish this long after it, no later.
FINISH_GRACE_SECONDS = 60
# The upload route's wall-clock limit on receiving one body (REGENZET_MEDIA_UPLOAD_SECONDS).
UPLOAD_SECONDS = 600
CHUNK = 1024 * 1024
# The signing scheme's version, signed with every ticket and link (so it can rotate).
_SCHEME = "regenzet-media-v1"

_UNTYPED = {"", "application/octet-stream"}

P = ParamSpec("P")
R = TypeVar("R")


def _disk_boundary(method: Callable[P, R]) -> Callable[P, R]:
    """The disk failing (full, read-only, permissions) is the store being unavailable
    (ADR 0035), not a bug: 503 and retry. A missing file is handled where it is expected."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise
        except OSError as exc:
            raise StoreUnavailableError(f"media storage failed: {exc.strerror}") from exc

    return guarded


def media_key_path(root: Path, key: str) -> Path:
    """The file for ``key`` under ``root``; ``ValueError`` for anything that is not a plain
    relative key (``check_key``) or that would resolve outside the root (a symlink)."""
    path = root.joinpath(*check_key(key).split("/"))
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved == resolved_root or not resolved.is_relative_to(resolved_root):
        raise ValueError("a media key must stay inside the media root")
    return path


def _etag(inode: int, sha256: str) -> str:
    return f'"{inode}-{sha256}"'


def _file_chunks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(size):
            yield chunk


def _b64_digest(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


@attrs.frozen
class _Meta:
    content_type: str
    size: int
    sha256: str
    stored_at: datetime
    inode: int

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "content_type": self.content_type,
                "size": self.size,
                "sha256": self.sha256,
                "stored_at": self.stored_at.isoformat(),
                "inode": self.inode,
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> _Meta:
        data = json.loads(raw)
        return cls(
            content_type=str(data["content_type"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            stored_at=datetime.fromisoformat(data["stored_at"]),
            inode=int(data["inode"]),
        )


@attrs.frozen
class LocalDownload:
    """What a verified download link serves: the file, how to label it, how long to cache."""

    path: Path
    size: int
    content_type: str
    content_disposition: str
    max_age: int


class LocalMediaStorage:
    """``MediaStorage`` in a directory (see the module docstring). Blocking, thread-safe: every
    step is a single file operation (``O_EXCL`` create, ``os.replace``) on one filesystem."""

    def __init__(
        self,
        root: Path,
        secret: bytes,
        clock: Clock,
        *,
        upload_url: str = UPLOAD_PATH,
        download_url: str = DOWNLOAD_PATH,
        upload_seconds: float = UPLOAD_SECONDS,
        finish_grace_seconds: int = FINISH_GRACE_SECONDS,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the media secret must be at least 32 bytes")
        if upload_seconds <= 0 or finish_grace_seconds < 0:
            raise ValueError("the upload deadline is positive and the grace not negative")
        self.root = root
        self.upload_seconds = upload_seconds
        self.finish_grace_seconds = finish_grace_seconds
        self._secret = secret
        self.clock = clock
        self.upload_url = upload_url
        self.download_base = download_url
        for name in (".meta", ".incoming", ".used", "pending", "media"):
            (root / name).mkdir(mode=0o700, parents=True, exist_ok=True)

    @classmethod
    def in_data_dir(cls, data_dir: Path, clock: Clock) -> LocalMediaStorage:
        """Objects under ``<data_dir>/media``, signed with ``<data_dir>/keys/media-secret``."""
        return cls(data_dir / "media", cls.secret_in(data_dir / "keys"), clock)

    @staticmethod
    def secret_in(directory: Path) -> bytes:
        """The signing key, created on first use (0600, 32 random bytes as hex)."""
        path = directory / "media-secret"
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Written whole, then linked into place: a process starting at the same moment
            # never reads a half-written key, and the first link wins.
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".media-secret-")  # 0600
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
                with contextlib.suppress(FileExistsError):
                    os.link(temp, path)
            finally:
                os.unlink(temp)
        return path.read_text().strip().encode()

    # -- paths -----------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return media_key_path(self.root, key)

    def _meta_path(self, key: str) -> Path:
        media_key_path(self.root, key)  # the same rules, so the sidecar stays under .meta
        return self.root / ".meta" / f"{key}.json"

    def _sign(self, purpose: str, *parts: str) -> str:
        """HMAC of a canonical, versioned encoding (a JSON array): no field, whatever it
        holds (a file name may hold a newline), can shift into its neighbour."""
        message = json.dumps([_SCHEME, purpose, *parts], separators=(",", ":")).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    # -- the port --------------------------------------------------------------------------

    def issue_upload(
        self, key: str, *, content_type: str, size: int, sha256: str, expires_in: int
    ) -> UploadTicket:
        check_upload(
            key, content_type=content_type, size=size, sha256=sha256, expires_in=expires_in
        )
        self._path(key)
        expires = int(self.clock.now().timestamp()) + expires_in
        checksum = _b64_digest(sha256)
        fields = {
            "key": key,
            "Content-Type": content_type,
            "x-regenzet-size": str(size),
            "x-amz-checksum-sha256": checksum,
            "expires": str(expires),
            "signature": self._sign("upload", key, content_type, str(size), checksum, str(expires)),
        }
        return UploadTicket(
            url=self.upload_url,
            fields=fields,
            key=key,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    @_disk_boundary
    def head(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            with path.open("rb") as stream:
                return self._described(key, stream)
        except (FileNotFoundError, IsADirectoryError):
            raise MediaObjectMissing(key) from None

    def _described(self, key: str, stream: BinaryIO) -> StoredObject:
        """What the open file is: from its sidecar when that describes this very inode,
        otherwise hashed (no sidecar, or one left by an object this key held before). The
        etag names the inode and its SHA-256, so a file uploaded over it never matches."""
        stat = os.fstat(stream.fileno())
        if not S_ISREG(stat.st_mode):
            raise MediaObjectMissing(key)
        meta = self._read_meta(key)
        if meta is not None and meta.inode == stat.st_ino and meta.size == stat.st_size:
            content_type, sha256 = meta.content_type, meta.sha256
        else:
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
            stream.seek(0)
            content_type, sha256 = "application/octet-stream", digest.hexdigest()
        return StoredObject(key, stat.st_size, content_type, sha256, _etag(stat.st_ino, sha256))

    def _opened(self, key: str, expected: StoredObject | None) -> BinaryIO:
        """The object's file, open, and checked against ``expected`` by its inode."""
        path = self._path(key)
        try:
            stream = path.open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise MediaObjectMissing(key) from None
        try:
            if expected is not None and self._described(key, stream).etag != expected.etag:
                raise MediaObjectChangedError(f"{key} changed since it was checked")
        except BaseException:
            stream.close()
            raise
        return stream

    @_disk_boundary
    def read(
        self, key: str, *, limit: int | None = None, expected: StoredObject | None = None
    ) -> bytes:
        with self._opened(key, expected) as stream:
            return stream.read() if limit is None else stream.read(limit)

    @_disk_boundary
    def chunks(
        self, key: str, *, size: int = CHUNK, expected: StoredObject | None = None
    ) -> Iterator[bytes]:
        if size < 1:
            raise ValueError("a chunk is at least one byte")
        return _file_chunks(self._opened(key, expected), size)

    @_disk_boundary
    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        check_content_type(content_type)
        temp = self._incoming()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            meta = _Meta(
                content_type,
                len(data),
                hashlib.sha256(data).hexdigest(),
                self.clock.now(),
                temp.stat().st_ino,
            )
            self._write_meta(key, meta)
            self._place(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    @_disk_boundary
    def move(self, source: str, target: str, *, expected: StoredObject | None = None) -> None:
        source_path, target_path = self._path(source), self._path(target)
        if source == target:
            if not source_path.is_file():
                raise MediaObjectMissing(source)
            self._check(source, expected)
            return
        if not source_path.is_file():
            if target_path.is_file():
                # Moved before (a retried confirm): the rename kept the inode and its sidecar.
                self._check(target, expected)
                return
            raise MediaObjectMissing(source)
        # Exactly the version that was checked (the rename below keeps its inode). A file
        # can only replace it in the instant between the two: one upload per ticket, and
        # the flow issues one ticket per media id.
        self._check(source, expected)
        # The sidecar first: if we stop between the two steps, the object is still at the
        # source (hashed on demand) and a retry moves it to where its sidecar already is.
        source_meta, target_meta = self._meta_path(source), self._meta_path(target)
        if source_meta.exists():
            target_meta.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.replace(source_meta, target_meta)
        try:
            self._place(source_path, target_path)
        except FileNotFoundError:
            if not target_path.is_file():  # a concurrent move took it there: done
                raise MediaObjectMissing(source) from None

    def _check(self, key: str, expected: StoredObject | None) -> None:
        if expected is not None and self.head(key).etag != expected.etag:
            raise MediaObjectChangedError(f"{key} changed since it was checked")

    @_disk_boundary
    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
        self._meta_path(key).unlink(missing_ok=True)

    def download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        expires_in: int,
        inline: bool = False,
    ) -> str:
        self._path(key)
        content_type, inline = served_as(content_type, inline=inline)
        filename = download_name(filename, content_type)
        if not 1 <= expires_in <= MAX_LINK_SECONDS:
            raise ValueError(f"a download link lives 1 to {MAX_LINK_SECONDS} seconds")
        expires = str(int(self.clock.now().timestamp()) + expires_in)
        disposition = "inline" if inline else "attachment"
        query = {
            "key": key,
            "ct": content_type,
            "fn": filename,
            "disp": disposition,
            "exp": expires,
            "sig": self._sign("download", key, content_type, filename, disposition, expires),
        }
        return f"{self.download_base}?{urlencode(query)}"

    @_disk_boundary
    def pending_older_than(self, moment: datetime) -> Iterator[str]:
        """Also tidies the adapter's own leftovers as it goes: parts of uploads that died
        before ``moment`` and the single-use markers of tickets that have expired."""
        self._tidy(moment)
        pending = self.root / PENDING_PREFIX.rstrip("/")
        found: list[str] = []
        for directory, _dirs, files in os.walk(pending):
            for name in files:
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                meta = self._read_meta(key)
                if meta is not None and meta.inode == stat.st_ino:
                    stored_at = meta.stored_at
                else:
                    stored_at = datetime.fromtimestamp(stat.st_mtime, UTC)
                if stored_at < moment:
                    found.append(key)
        return iter(sorted(found))

    # -- the local routes ------------------------------------------------------------------

    def begin_upload(self, fields: Mapping[str, str]) -> LocalUpload:
        """Checks a ticket's form fields (all of them, nothing else, signed, unexpired, unused,
        a key under ``pending/``) before any of the file is read; ``TicketRefusedError``
        otherwise. The upload then receives the file in chunks."""
        given = {name.lower(): value for name, value in fields.items()}
        if len(given) != len(fields):
            raise TicketRefusedError("a ticket field is given twice")
        expected = {name.lower() for name in UPLOAD_FIELDS}
        missing = sorted(expected - given.keys())
        if missing:
            raise TicketRefusedError(f"the upload lacks the ticket field {missing[0]!r}")
        extra = sorted(given.keys() - expected)
        if extra:
            raise TicketRefusedError(f"the field {extra[0]!r} is not part of the ticket")
        key, content_type = given["key"], given["content-type"]
        size, checksum, expires = (
            given["x-regenzet-size"],
            given["x-amz-checksum-sha256"],
            given["expires"],
        )
        signature = self._sign("upload", key, content_type, size, checksum, expires)
        if not hmac.compare_digest(signature.encode(), given["signature"].encode()):
            raise TicketRefusedError("the ticket's signature does not match its fields")
        # Signed by us, so well formed; checked again all the same (a leaked key, a bug).
        try:
            path = self._path(key)
        except ValueError as exc:
            raise TicketRefusedError(f"the ticket's key is refused: {exc}") from None
        if not key.startswith(PENDING_PREFIX):
            raise TicketRefusedError(f"uploads go under {PENDING_PREFIX!r} only")
        if not (size.isdigit() and expires.isdigit()):
            raise TicketRefusedError("the ticket's size and expiry are whole numbers")
        if self.clock.now().timestamp() >= int(expires):
            raise TicketRefusedError("the upload ticket has expired")
        marker = self.root / ".used" / f"{expires}-{signature}"
        if marker.exists():
            raise TicketRefusedError("the upload ticket was already used")
        try:
            sha256 = base64.b64decode(checksum, validate=True).hex()
        except (binascii.Error, ValueError):
            raise TicketRefusedError("the ticket's checksum is not base64") from None
        # One upload at a time per ticket: the claim is released on any refusal (the ticket
        # stays usable) and becomes the spent marker once the file is kept.
        claim = marker.with_name(f"{marker.name}.inflight")
        try:
            os.close(os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise TicketRefusedError("an upload with this ticket is already under way") from None
        except OSError as exc:
            raise StoreUnavailableError(f"media storage failed: {exc.strerror}") from exc
        try:
            if marker.exists():  # spent between the first look and the claim
                raise TicketRefusedError("the upload ticket was already used")
            return LocalUpload(
                self,
                key=key,
                path=path,
                content_type=content_type,
                size=int(size),
                sha256=sha256,
                marker=marker,
                claim=claim,
                finish_by=int(expires) + self.finish_grace_seconds,
            )
        except BaseException:
            claim.unlink(missing_ok=True)
            raise

    def resolve_download(self, params: Mapping[str, str]) -> LocalDownload:
        """What a download link serves, once its signature and expiry are checked
        (``TicketRefusedError``); ``MediaObjectMissing`` when the object is gone."""
        try:
            key, content_type, filename, disposition, expires, signature = (
                params[name] for name in ("key", "ct", "fn", "disp", "exp", "sig")
            )
        except KeyError as exc:
            raise TicketRefusedError(f"the download link lacks {exc.args[0]!r}") from None
        expected = self._sign("download", key, content_type, filename, disposition, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise TicketRefusedError("the download link's signature does not match")
        if disposition not in {"inline", "attachment"} or not expires.isdigit():
            raise TicketRefusedError("the download link is malformed")
        remaining = int(expires) - int(self.clock.now().timestamp())
        if remaining <= 0:
            raise TicketRefusedError("the download link has expired")
        try:
            path = self._path(key)
            check_content_type(content_type)
        except ValueError as exc:
            raise TicketRefusedError(f"the download link is refused: {exc}") from None
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise MediaObjectMissing(key) from None
        if not path.is_file():
            raise MediaObjectMissing(key)
        return LocalDownload(
            path=path,
            size=stat.st_size,
            content_type=content_type,
            content_disposition=content_disposition(filename, inline=disposition == "inline"),
            max_age=remaining,
        )

    # -- internals -------------------------------------------------------------------------

    def _incoming(self) -> Path:
        return self.root / ".incoming" / f"{uuid.uuid4().hex}.part"

    def _place(self, source: Path, target: Path) -> None:
        """``os.replace`` into ``target``, creating its directory (again, if the sweep
        removed an empty one in between)."""
        for attempt in range(3):
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                os.replace(source, target)
                return
            except FileNotFoundError:
                if attempt == 2 or not source.exists():
                    raise

    def _read_meta(self, key: str) -> _Meta | None:
        try:
            return _Meta.from_json(self._meta_path(key).read_bytes())
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _write_meta(self, key: str, meta: _Meta) -> None:
        target = self._meta_path(key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = self._incoming()
        try:
            temp.write_bytes(meta.to_json())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _tidy(self, moment: datetime) -> None:
        now = self.clock.now().timestamp()
        for marker in (self.root / ".used").iterdir():
            # Spent markers and claims alike: once the ticket can no longer be begun or
            # finished, nothing needs them.
            expires, _, _ = marker.name.partition("-")
            if expires.isdigit() and int(expires) + self.finish_grace_seconds < now:
                marker.unlink(missing_ok=True)
        for part in (self.root / ".incoming").iterdir():
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(part.stat().st_mtime, UTC) < moment:
                    part.unlink()
        # Empty directories left under pending/ by moved or deleted uploads (deepest first).
        pending = self.root / PENDING_PREFIX.rstrip("/")
        for directory, _dirs, _files in sorted(os.walk(pending), reverse=True):
            path = Path(directory)
            if path == pending:
                continue
            with contextlib.suppress(OSError):
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < moment:
                    path.rmdir()  # refused (and ignored) unless empty


class LocalUpload:
    """One upload being received: ``write`` the file's chunks, then ``finish``; leaving the
    ``with`` block without finishing (any refusal) removes everything it wrote."""

    def __init__(
        self,
        storage: LocalMediaStorage,
        *,
        key: str,
        path: Path,
        content_type: str,
        size: int,
        sha256: str,
        marker: Path,
        claim: Path,
        finish_by: int,
    ) -> None:
        self.storage = storage
        self.key = key
        self.path = path
        self.content_type = content_type
        self.size = size
        self.sha256 = sha256
        self.marker = marker
        self.claim = claim
        self.finish_by = finish_by
        self.received = 0
        self._digest = hashlib.sha256()
        self.temp = storage._incoming()
        try:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise StoreUnavailableError(f"media storage failed: {exc.strerror}") from exc
        self._out: Any = os.fdopen(fd, "wb")
        self._done = False
        self._kept = False

    def seconds_left(self) -> float:
        """How long the upload may still take before ``finish`` refuses it (the ticket's
        expiry plus the grace, by the storage's clock)."""
        return max(0.0, self.finish_by - self.storage.clock.now().timestamp())

    def __enter__(self) -> LocalUpload:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._done:
            self.abort()

    def write(self, chunk: bytes) -> None:
        """Appends a chunk while hashing; past the signed size it stops and refuses
        (``UploadTooLargeError``), having kept nothing."""
        self.received += len(chunk)
        if self.received > self.size:
            self.abort()
            raise UploadTooLargeError(
                f"the file is larger than the {self.size} bytes the ticket is for"
            )
        self._digest.update(chunk)
        try:
            self._out.write(chunk)
        except OSError as exc:
            self.abort()
            raise StoreUnavailableError(f"media storage failed: {exc.strerror}") from exc

    def finish(self, part_content_type: str | None = None) -> StoredObject:
        """Checks the time, the size, the file part's own type (when it names one) and the
        SHA-256 against the ticket, puts the file and its sidecar in place, and only then
        marks the ticket spent. Any refusal or failure keeps nothing and leaves the ticket
        usable (``abort``)."""
        sidecar_written = False
        try:
            if self.storage.clock.now().timestamp() > self.finish_by:
                raise TicketRefusedError("the upload ticket expired before the file arrived")
            if self.received != self.size:
                raise UploadRefusedError(
                    f"the file has {self.received} bytes, the ticket is for {self.size}"
                )
            declared = (part_content_type or "").split(";")[0].strip().lower()
            if declared not in _UNTYPED and declared != self.content_type:
                raise UploadRefusedError(
                    f"the file is {declared}, the ticket is for {self.content_type}"
                )
            if self._digest.hexdigest() != self.sha256:
                raise UploadRefusedError("the file's SHA-256 is not the one the ticket is for")
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            stored_at = self.storage.clock.now()
            meta = _Meta(
                self.content_type, self.size, self.sha256, stored_at, self.temp.stat().st_ino
            )
            sidecar_written = True
            self.storage._write_meta(self.key, meta)
            self.storage._place(self.temp, self.path)
        except BaseException as exc:
            if sidecar_written:
                self.storage._meta_path(self.key).unlink(missing_ok=True)
            self.abort()
            if isinstance(exc, OSError):
                raise StoreUnavailableError(f"media storage failed: {exc.strerror}") from exc
            raise
        self._done = self._kept = True
        # The file is kept: the claim becomes the spent marker. Should the rename fail, the
        # claim itself still refuses the ticket until it expires.
        with contextlib.suppress(OSError):
            os.replace(self.claim, self.marker)
        return StoredObject(
            self.key, self.size, self.content_type, self.sha256, _etag(meta.inode, self.sha256)
        )

    def abort(self) -> None:
        """Removes the part received so far and releases the ticket's claim (idempotent;
        nothing once the file was kept)."""
        if self._kept:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._out.close()
        self.temp.unlink(missing_ok=True)
        self.claim.unlink(missing_ok=True)
