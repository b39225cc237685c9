"""Media as the domain sees them: what an upload request declares, what was attached once the
stored bytes were checked, and markup drawn over a photo.

The bytes live elsewhere (the application's ``MediaStorage`` port); the domain records facts
about them and keeps its hard invariants: an allowed content type, a size within the absolute
ceiling, a SHA-256, a plain file name, shapes that stay inside the picture. The stricter,
configurable per-type limits (photos 25 MiB, videos 200 MiB) are the application's settings.
Both aggregates that hold media (inspections, repair orders' check-in photos) use these checks.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from uuid import UUID

import attrs

from regenzet.domain.common import Actor, canonical_copy, check_decimal_range, fail

PHOTO_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
)
VIDEO_CONTENT_TYPES = frozenset({"video/mp4", "video/quicktime"})
MEDIA_CONTENT_TYPES = PHOTO_CONTENT_TYPES | VIDEO_CONTENT_TYPES
# The absolute ceiling the domain accepts whatever the settings say (they are lower).
MEDIA_MAX_BYTES = 500 * 1024 * 1024
FILE_NAME_MAX = 200
KEY_MAX = 1024
MAX_DIMENSION = 100_000
MAX_DURATION_S = Decimal("86400")

SHAPE_KINDS = ("arrow", "ellipse", "freehand", "text")
MAX_SHAPES = 100
MAX_FREEHAND_POINTS = 500
LABEL_MAX = 200
# Points over all the shapes of one markup: each markup is an event, replayed on every load.
MAX_MARKUP_POINTS = 2_000
# How many points each kind takes (inclusive bounds).
_POINTS: dict[str, tuple[int, int]] = {
    "arrow": (2, 2),
    "ellipse": (2, 2),  # the corners of its bounding box
    "freehand": (2, MAX_FREEHAND_POINTS),
    "text": (1, 1),
}
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Coordinates are kept to 1/10,000 of the picture's side: sub-pixel on any phone photo, and
# a stored shape stays small.
_PLACES = 4


class Shape(TypedDict):
    """One shape of a markup, JSON-native: points relative to the picture (0..1 each way)."""

    kind: str
    points: list[list[float]]
    colour: str
    label: str | None


@attrs.frozen
class MediaUpload:
    """An upload the server issued a ticket for and has not confirmed yet."""

    media_id: UUID
    item_code: str | None
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    key: str


@attrs.frozen
class MediaAttachment:
    """A photo or video whose stored bytes were checked, identified by its hash.

    Media attached before the upload flow (issue 13) carry no file name, dimensions or key;
    ``attached_at`` is the event's time, ``annotations`` the latest markup (may be empty).
    """

    media_id: UUID
    item_code: str | None
    content_type: str
    size_bytes: int
    sha256: str
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: Decimal | None = None
    key: str | None = None
    attached_by: Actor | None = None
    attached_at: datetime | None = None
    annotations: list[Shape] = attrs.field(factory=list)
    annotated_at: datetime | None = None
    annotated_by: Actor | None = None

    @property
    def is_photo(self) -> bool:
        return self.content_type in PHOTO_CONTENT_TYPES


def check_media_id(media_id: Any) -> UUID:
    if not isinstance(media_id, UUID):
        fail("media_id", "must be a UUID")
    return media_id


def check_new_media(
    media_id: Any, uploads: Mapping[str, MediaUpload], attached: Iterable[MediaAttachment]
) -> UUID:
    """A media id that neither an upload request nor an attachment of the record has used."""
    checked = check_media_id(media_id)
    if str(checked) in uploads or any(m.media_id == checked for m in attached):
        fail("media_id", f"{checked} was already requested")
    return checked


def waiting_upload(uploads: Mapping[str, MediaUpload], media_id: Any) -> MediaUpload:
    """The record's upload request for ``media_id``, which a confirm attaches."""
    upload = uploads.get(str(check_media_id(media_id)))
    if upload is None:
        fail("media_id", f"no upload of {media_id} is waiting to be confirmed")
    return upload


def check_file_name(file_name: Any) -> str:
    """A plain file name as the phone or browser gave it: 1 to 200 characters, no path
    separators, no control characters, not ``.`` or ``..``."""
    if not isinstance(file_name, str):
        fail("file_name", "must be text")
    if not 1 <= len(file_name) <= FILE_NAME_MAX:
        fail("file_name", f"must be 1 to {FILE_NAME_MAX} characters")
    if "/" in file_name or "\\" in file_name:
        fail("file_name", "must be a file name, not a path (no / or \\)")
    if any(unicodedata.category(ch).startswith("C") for ch in file_name):
        fail("file_name", "must not contain control characters")
    if file_name.strip() in {"", ".", ".."}:
        fail("file_name", "must name a file")
    return file_name


def check_content_type(content_type: Any, allowed: frozenset[str]) -> str:
    if content_type not in allowed:
        fail("content_type", f"must be one of {', '.join(sorted(allowed))}")
    return str(content_type)


def check_size(size_bytes: Any) -> int:
    if (
        not isinstance(size_bytes, int)
        or isinstance(size_bytes, bool)
        or not 1 <= size_bytes <= MEDIA_MAX_BYTES
    ):
        fail("size_bytes", f"must be between 1 and {MEDIA_MAX_BYTES} bytes (500 MiB)")
    return size_bytes


def check_sha256(sha256: Any) -> str:
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        fail("sha256", "must be 64 lower-case hexadecimal characters")
    return sha256


def check_key(key: Any) -> str:
    """The storage key the server chose (never the client): text, no more than 1024 chars."""
    if not isinstance(key, str) or not 1 <= len(key) <= KEY_MAX:
        fail("key", f"must be 1 to {KEY_MAX} characters")
    return key


def check_dimension(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DIMENSION:
        fail(field, f"must be 1 to {MAX_DIMENSION} pixels")
    return value


def check_duration(value: Any) -> Decimal | None:
    if value is None:
        return None
    check_decimal_range("duration_s", value, minimum=Decimal(0), maximum=MAX_DURATION_S)
    return canonical_copy(value.quantize(Decimal("0.001")))


def check_shapes(shapes: Any) -> list[Shape]:
    """A markup as the domain keeps it: at most 100 shapes and 2,000 points in all, each of a
    known kind with the right number of points inside the picture, a ``#rrggbb`` colour and a
    label (required for text, at most 200 characters, nothing hidden or invisible in it).
    Returned as fresh JSON-native dicts."""
    if not isinstance(shapes, list):
        fail("shapes", "must be a list of shapes")
    if len(shapes) > MAX_SHAPES:
        fail("shapes", f"at most {MAX_SHAPES} shapes")
    checked = [_check_shape(index, shape) for index, shape in enumerate(shapes)]
    if sum(len(shape["points"]) for shape in checked) > MAX_MARKUP_POINTS:
        fail("shapes", f"at most {MAX_MARKUP_POINTS} points over all the shapes of a markup")
    return checked


def _hidden(ch: str) -> bool:
    """What a label may not carry, as a file name may not: any category C character
    (control, format such as U+202E or U+200B, surrogate, private use, unassigned) and the
    line and paragraph separators."""
    category = unicodedata.category(ch)
    return category.startswith("C") or category in {"Zl", "Zp"}


def _check_shape(index: int, shape: Any) -> Shape:
    where = f"shapes[{index}]"
    if not isinstance(shape, dict):
        fail(where, "must be an object with kind, points, colour and label")
    unknown = set(shape) - {"kind", "points", "colour", "label"}
    if unknown:
        fail(f"{where}.{sorted(unknown)[0]}", "is not a field of a shape")
    kind = shape.get("kind")
    if kind not in _POINTS:
        fail(f"{where}.kind", f"must be one of {', '.join(SHAPE_KINDS)}")
    points = shape.get("points")
    low, high = _POINTS[kind]
    if not isinstance(points, list) or not low <= len(points) <= high:
        count = str(low) if low == high else f"{low} to {high}"
        fail(f"{where}.points", f"a {kind} takes {count} points")
    clean_points = [_check_point(f"{where}.points[{i}]", p) for i, p in enumerate(points)]
    colour = shape.get("colour")
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        fail(f"{where}.colour", "must be #rrggbb in lower-case hexadecimal")
    label = shape.get("label")
    if label is not None:
        if not isinstance(label, str) or not label.strip():
            fail(f"{where}.label", "must be text (or null)")
        if len(label) > LABEL_MAX:
            fail(f"{where}.label", f"must be at most {LABEL_MAX} characters")
        if any(_hidden(ch) for ch in label):
            fail(
                f"{where}.label",
                "must not contain control, format (bidi override, zero-width) or line "
                "separator characters",
            )
    if kind == "text" and label is None:
        fail(f"{where}.label", "a text shape needs its label")
    return Shape(kind=kind, points=clean_points, colour=colour, label=label)


def _check_point(where: str, point: Any) -> list[float]:
    if not isinstance(point, list | tuple) or len(point) != 2:
        fail(where, "must be [x, y]")
    clean: list[float] = []
    for value in point:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(where, "coordinates must be numbers")
        number = float(value)
        if not math.isfinite(number) or not 0.0 <= number <= 1.0:
            fail(where, "coordinates must be between 0 and 1 (relative to the picture)")
        clean.append(round(number, _PLACES))
    return clean


VALUE_TYPES: list[type] = [MediaUpload, MediaAttachment]
