"""Confirming an upload: what the server checks in the stored bytes before anything is recorded.

The browser uploaded straight to storage with a ticket bound to one key, type, size and
SHA-256; storage may or may not have enforced that (S3 checks the policy, moto does not, the
local route does). Confirming trusts none of it and checks again, in this order, behind the
``MediaStorage`` port only (no HTTP, no aggregate):

1. ``head``: the object exists (else :class:`UploadMissingError`, 409, the ticket still
   usable) and has the declared size, within the type's limit from the settings. When it is
   gone because a confirm already moved it (its attach then failed, or is being recorded by a
   concurrent confirm), the original at the final key is checked the same way instead and the
   confirm finishes from it (its previews made again);
2. ``read`` it (a video in chunks, never whole in memory) and compute its SHA-256: it must
   equal the declared digest;
3. sniff its real type from the bytes with libmagic (``python-magic``): it must be the declared
   type (HEIC and HEIF are one family), so an executable named ``.jpg`` never gets further;
4. images: decode with Pillow (HEIC through ``pillow-heif``) with decompression-bomb warnings
   as errors and a 50-megapixel limit, apply the EXIF orientation, and make a preview (longest
   side 2048) and a thumbnail (512) as WEBP carrying no metadata at all (no EXIF, no GPS);
   videos: the sniff, size and checksum only (no decoder is installed: dimensions and duration
   stay unknown, ADR 0042);
5. ``move`` the original out of ``pending/`` (kept byte for byte as evidence, never served
   for images: it may carry GPS), then ``put`` the derived images beside it.

Any refusal deletes the pending object and raises :class:`MediaRefusedError` (422) with a
detail the client can show; the caller then records nothing.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from regenzet.application.errors import ApplicationError, StoreUnavailableError
from regenzet.application.media import MediaObjectMissing, MediaStorage, StoredObject
from regenzet.domain.media import PHOTO_CONTENT_TYPES, VIDEO_CONTENT_TYPES, MediaUpload

# Pillow refuses (with our warnings filter) any image above this many pixels: a 12-megapixel
# phone photo is far below, a 100-megapixel "bomb" of a few hundred KB is refused before its
# pixels are decoded.
MAX_IMAGE_PIXELS = 50_000_000
PREVIEW_SIDE = 2048
THUMBNAIL_SIDE = 512
WEBP_QUALITY = 80
# libmagic needs the first few KiB to tell ISO-BMFF brands (HEIC, MP4, MOV) apart.
SNIFF_BYTES = 64 * 1024

OWNER_INSPECTIONS = "inspections"
OWNER_REPAIR_ORDERS = "repair-orders"

# Types whose bytes say the same thing: libmagic names an iPhone's HEIC either way.
_FAMILIES = {"image/heif": "image/heic"}
# What Pillow's format names mean, to check the decoder agrees with the sniff.
_PILLOW_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a JPEG with a second (depth) frame, as some phones write
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}


@attrs.frozen
class MediaLimits:
    """The configurable limits (``REGENZET_MEDIA_*``, the settings); the domain's own ceiling
    (500 MiB) stays above them."""

    max_photo_bytes: int = 25 * 1024 * 1024
    max_video_bytes: int = 200 * 1024 * 1024
    photo_types: frozenset[str] = PHOTO_CONTENT_TYPES
    video_types: frozenset[str] = VIDEO_CONTENT_TYPES
    ticket_seconds: int = 300
    url_seconds: int = 300
    # Confirms decoding at once in one process (each may hold a 49-megapixel picture, about
    # 0.3 GB); another waits at most ``confirm_wait_seconds`` for a turn, then gets 503 with
    # Retry-After. The wait holds one of the server's worker threads (a handful on a small
    # task, shared with every synchronous route, /ready included), so it is kept short: the
    # web app confirms again by itself after Retry-After.
    confirm_concurrency: int = 2
    confirm_wait_seconds: float = 1.0

    def max_bytes_for(self, content_type: str) -> int | None:
        """The size limit of an allowed type; None for a type that is not allowed."""
        if content_type in self.photo_types:
            return self.max_photo_bytes
        if content_type in self.video_types:
            return self.max_video_bytes
        return None


class MediaRefusedError(ApplicationError):
    """The stored object is not what was declared (size, checksum, type), or not a picture
    we can decode safely: it was deleted and nothing was recorded (HTTP 422)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class UploadMissingError(ApplicationError):
    """Nothing is stored for the upload yet (confirm before upload): the ticket stays usable
    until it expires (HTTP 409)."""

    def __init__(self, media_id: UUID) -> None:
        super().__init__(
            f"nothing has been uploaded for media {media_id} yet: upload the file with the "
            "ticket, then confirm"
        )
        self.media_id = media_id


class ConfirmsBusyError(StoreUnavailableError):
    """As many confirms as the process allows are decoding, and none finished within the
    wait: retry shortly (HTTP 503 with ``Retry-After``, like any unavailable store)."""

    def __init__(self, waited: float) -> None:
        super().__init__(
            f"the server is busy checking other uploads (waited {waited:g} s); "
            "confirm again shortly"
        )


@attrs.frozen
class ConfirmedMedia:
    """What the checks found, for the ``MediaAttached`` event."""

    key: str  # where the original now lives
    width: int | None
    height: int | None
    duration_s: Decimal | None


def pending_key(owner_kind: str, owner_id: UUID, media_id: UUID) -> str:
    return f"pending/{owner_kind}/{owner_id}/{media_id}"


def media_prefix(owner_kind: str, owner_id: UUID, media_id: UUID) -> str:
    return f"media/{owner_kind}/{owner_id}/{media_id}"


def original_key(owner_kind: str, owner_id: UUID, media_id: UUID) -> str:
    return f"{media_prefix(owner_kind, owner_id, media_id)}/original"


def preview_key(original: str) -> str:
    return original.removesuffix("/original") + "/preview.webp"


def thumbnail_key(original: str) -> str:
    return original.removesuffix("/original") + "/thumbnail.webp"


def same_family(declared: str, sniffed: str) -> bool:
    return _FAMILIES.get(declared, declared) == _FAMILIES.get(sniffed, sniffed)


def confirm_upload(
    storage: MediaStorage, upload: MediaUpload, target: str, limits: MediaLimits
) -> ConfirmedMedia:
    """Checks the pending object of ``upload`` and moves it to ``target`` (its original's
    key) with its preview and thumbnail beside it; see the module docstring.

    Every read and the move name the version ``head`` saw (``expected``): an object uploaded
    over it meanwhile (an S3 ticket may be POSTed again while it lives) is never the one
    moved after another was checked (``MediaObjectChangedError``, 409, nothing recorded).
    """
    try:
        stored = storage.head(upload.key)
    except MediaObjectMissing:
        return _resume(storage, upload, target, limits)
    try:
        pictures = _check(storage, upload, stored, limits)
    except MediaRefusedError:
        storage.delete(upload.key)
        raise
    except MediaObjectMissing:  # deleted between head and read (the sweep)
        raise UploadMissingError(upload.media_id) from None
    try:
        storage.move(upload.key, target, expected=stored)
    except MediaObjectMissing:  # deleted since it was checked (the sweep)
        raise UploadMissingError(upload.media_id) from None
    if pictures is None:
        return ConfirmedMedia(key=target, width=None, height=None, duration_s=None)
    # After the move: a move refused leaves nothing under media/; previews lost after it are
    # made again by the next confirm (``_resume``).
    storage.put(preview_key(target), pictures.preview, content_type="image/webp")
    storage.put(thumbnail_key(target), pictures.thumbnail, content_type="image/webp")
    return ConfirmedMedia(key=target, width=pictures.width, height=pictures.height, duration_s=None)


def _resume(
    storage: MediaStorage, upload: MediaUpload, target: str, limits: MediaLimits
) -> ConfirmedMedia:
    """Nothing is pending: either nothing was uploaded yet, or a confirm already moved the
    original to ``target`` and its attach was never recorded (its commit failed, the process
    died) or is being recorded right now (a concurrent confirm). An original there with the
    declared size and SHA-256 is checked again like an upload (the sniff, the decode) and its
    previews made again, so the confirm finishes from it. Anything else is "not uploaded";
    nothing under ``media/`` is ever deleted here."""
    try:
        moved = storage.head(target)
        pictures = _check(storage, upload, moved, limits, key=target)
    except (MediaObjectMissing, MediaRefusedError):
        raise UploadMissingError(upload.media_id) from None
    if pictures is None:
        return ConfirmedMedia(key=target, width=None, height=None, duration_s=None)
    storage.put(preview_key(target), pictures.preview, content_type="image/webp")
    storage.put(thumbnail_key(target), pictures.thumbnail, content_type="image/webp")
    return ConfirmedMedia(key=target, width=pictures.width, height=pictures.height, duration_s=None)


@attrs.frozen
class DerivedPictures:
    preview: bytes
    thumbnail: bytes
    width: int  # as shown: after the EXIF orientation
    height: int


def _check(
    storage: MediaStorage,
    upload: MediaUpload,
    stored: StoredObject,
    limits: MediaLimits,
    *,
    key: str | None = None,
) -> DerivedPictures | None:
    """The checks of the object ``stored`` under ``key`` (the pending upload by default)."""
    key = upload.key if key is None else key
    declared = upload.content_type
    limit = limits.max_bytes_for(declared)
    if limit is None:
        raise MediaRefusedError("type-not-allowed", f"{declared} uploads are not accepted")
    if stored.size != upload.size_bytes:
        raise MediaRefusedError("size-mismatch", _size_detail(stored.size, upload.size_bytes))
    if stored.size > limit:
        raise MediaRefusedError(
            "too-large", f"the file is {stored.size} bytes; {declared} is limited to {limit}"
        )
    if stored.sha256 is not None and stored.sha256 != upload.sha256:
        raise MediaRefusedError("checksum-mismatch", _CHECKSUM_DETAIL)
    is_video = declared in limits.video_types
    if is_video:
        # Up to 200 MiB: hashed in chunks, never held in memory; libmagic needs the start.
        digest = hashlib.sha256()
        count = 0
        for chunk in storage.chunks(key, expected=stored):
            digest.update(chunk)
            count += len(chunk)
        head = storage.read(key, limit=SNIFF_BYTES, expected=stored)
        data = b""
    else:
        data = storage.read(key, expected=stored)
        digest, count, head = hashlib.sha256(data), len(data), data
    if count != upload.size_bytes:
        raise MediaRefusedError("size-mismatch", _size_detail(count, upload.size_bytes))
    if digest.hexdigest() != upload.sha256:
        raise MediaRefusedError("checksum-mismatch", _CHECKSUM_DETAIL)
    sniffed = sniff(head)
    if not same_family(declared, sniffed):
        raise MediaRefusedError(
            "wrong-type", f"the file's content is {sniffed}, not the declared {declared}"
        )
    if is_video:
        return None
    return derive_pictures(data, declared)


_CHECKSUM_DETAIL = "the stored file's SHA-256 is not the declared one (changed or corrupted)"


def _size_detail(stored: int, declared: int) -> str:
    return f"the stored file is {stored} bytes, not the declared {declared}"


def sniff(data: bytes) -> str:
    """The content type libmagic reads from the first bytes."""
    import magic  # libmagic through ctypes: loaded on first use, not at import

    found: str = magic.from_buffer(data[:SNIFF_BYTES], mime=True)
    return found


_HEIF_LOCK = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
    global _heif_registered  # noqa: PLW0603 - once per process, on first use
    with _HEIF_LOCK:
        if not _heif_registered:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _heif_registered = True


# EXIF orientations that turn the picture a quarter (width and height swap when shown).
_QUARTER_TURNS = {5, 6, 7, 8}
_ORIENTATION = 0x0112


def derive_pictures(data: bytes, declared: str) -> DerivedPictures:
    """Decodes a photo into its preview and thumbnail (WEBP, no metadata) and its size as
    shown; :class:`MediaRefusedError` when it cannot be decoded safely."""
    from PIL import Image

    _register_heif()
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        # Only within this block: above the limit Pillow merely warns (and raises at twice
        # it); here the warning is the refusal. The filter is not process-wide.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                # Checked here too, before any pixel is decoded: warning filters are process
                # state, and another thread's catch_warnings may be restoring them right now.
                if width * height > MAX_IMAGE_PIXELS:
                    raise MediaRefusedError("too-many-pixels", _bomb_detail(width, height))
                decoded_as = _PILLOW_FORMATS.get(opened.format or "")
                if decoded_as is None or not same_family(declared, decoded_as):
                    raise MediaRefusedError(
                        "wrong-type", f"the file decodes as {opened.format}, not {declared}"
                    )
                if opened.getexif().get(_ORIENTATION, 1) in _QUARTER_TURNS:
                    width, height = height, width
                if opened.format in {"JPEG", "MPO"}:
                    # Decode at a reduced DCT scale (a 12 MP photo at 1/2: 2000 x 1500), still
                    # at least half the preview's side: a quarter of the pixels to decode.
                    opened.draft("RGB", (PREVIEW_SIDE // 2, PREVIEW_SIDE // 2))
                opened.load()
                picture = _preview(opened)
    except MediaRefusedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRefusedError(
            "too-many-pixels", f"refused as a decompression bomb: {exc}"
        ) from exc
    except Exception as exc:  # any decoder failure means the file is not a usable picture
        raise MediaRefusedError(
            "undecodable", f"the file is not a {declared} picture that can be decoded"
        ) from exc
    thumbnail = _shrunk(picture, THUMBNAIL_SIDE)  # from the preview: fewer pixels to filter
    return DerivedPictures(
        preview=_webp(picture), thumbnail=_webp(thumbnail), width=width, height=height
    )


def _bomb_detail(width: int, height: int) -> str:
    return (
        f"the picture is {width} x {height} = {width * height:,} pixels, over the limit of "
        f"{MAX_IMAGE_PIXELS:,} (a decompression bomb is refused before it is decoded)"
    )


# Modes whose pixels filter correctly as they are: the shrink comes first (no full-size copy).
_SHRINK_FIRST = {"RGB", "RGBA", "L", "LA"}
# The most pixels one tile of the integer reduce crops (and converts) at a time.
_TILE_PIXELS = 4_000_000
# EXIF orientation -> the turn that shows it upright (as ``ImageOps.exif_transpose``).
_TRANSPOSES = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}


def _preview(decoded: Any) -> Any:
    """The preview of the decoded picture: shrunk first, then turned upright and stripped, so
    only small images are ever copied. A picture over twice the preview's side is reduced by
    an integer factor in strips (a box filter, so the strips join exactly), which never holds
    a second full-size image, not even the premultiplied copy Pillow filters RGBA through; a
    palette, 1-bit, 16-bit or CMYK picture is converted strip by strip on the way (its values
    are not colours a filter can average)."""
    from PIL import Image

    orientation = decoded.getexif().get(_ORIENTATION, 1)
    convert = decoded.mode not in _SHRINK_FIRST or "transparency" in decoded.info
    factor = max(decoded.size) // PREVIEW_SIDE
    if factor >= 2:
        picture = _reduced(decoded, factor, convert=convert)
    else:
        picture = _plain(decoded) if convert else decoded
    picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))  # in place
    turn = _TRANSPOSES.get(orientation)
    if turn is not None:
        picture = picture.transpose(Image.Transpose[turn])
    return _plain(picture)


def _reduced(picture: Any, factor: int, *, convert: bool) -> Any:
    """``picture.reduce(factor)``, a tile of at most about ``_TILE_PIXELS`` at a time: square
    tiles of whole ``factor`` blocks (so the box filter's blocks never straddle two tiles and
    the tiles join exactly), bounded in both directions, so a wide and short picture is never
    cropped whole. A single block exceeds the budget only when the factor is over 2,000 (a side
    of more than four million pixels), and then the other side is a dozen pixels at most (the
    pixel limit), so its crop stays small."""
    import math

    from PIL import Image

    width, height = picture.size
    side = factor * max(1, math.isqrt(_TILE_PIXELS) // factor)
    out = None
    for top in range(0, height, side):
        for left in range(0, width, side):
            tile = picture.crop((left, top, min(left + side, width), min(top + side, height)))
            if convert:
                tile = _plain(tile)
            small = tile.reduce(factor)
            if out is None:
                out = Image.new(small.mode, (-(-width // factor), -(-height // factor)))
            out.paste(small, (left // factor, top // factor))
    return out


def _plain(image: Any) -> Any:
    """The pixels only, in a mode WEBP takes: no EXIF, XMP, ICC or any other metadata.
    16-bit greyscale (a thermal camera's PNG) is scaled to 8 bits, not clipped: converting it
    straight to RGB turns every value over 255 white."""
    if image.mode.startswith("I;16") or image.mode == "I":
        image = image.convert("I").point(lambda value: value * (1 / 256), "L")
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    clean = image.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}
    return clean


def _shrunk(image: Any, side: int) -> Any:
    copy = image.copy()
    copy.info = {}
    copy.thumbnail((side, side))
    return copy


def _webp(image: Any) -> bytes:
    out = io.BytesIO()
    # method 2 of 0-6: about a third of the default's encoding time for the same quality
    # setting and a similar size (docs/benchmarks.md, media confirm).
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=2)
    return out.getvalue()
