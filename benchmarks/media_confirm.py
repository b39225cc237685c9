"""``media-confirm``: how long confirming an uploaded photo takes (issue 13), for a
12-megapixel JPEG with EXIF and a HEIC of the same picture, beside the bare Pillow open +
thumbnail of the same file (the anchor: what any thumbnailer pays)."""

from __future__ import annotations

import hashlib
import io
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import click

from benchmarks.common import console, emit, rounds_option, show_table
from regenzet.adapters.clock import SystemClock
from regenzet.adapters.media_local import LocalMediaStorage
from regenzet.application.media_confirm import MediaLimits, confirm_upload, original_key
from regenzet.domain.media import MediaUpload

SIZE = (4000, 3000)  # 12 megapixels, a phone's 4:3 photo
FORMATS = {"JPEG": "image/jpeg", "HEIC": "image/heic"}


@click.command(
    "media-confirm",
    help="Confirm latency (sniff + decode + preview + thumbnail) of a 12 MP JPEG and HEIC.",
)
@rounds_option(5)
def command(rounds: int) -> None:
    """Method: one 4000 x 3000 picture (a gradient with Gaussian grain, sigma 10, so it
    compresses about like a photo, not like a flat colour's few KB), saved as a JPEG
    (quality 90) with EXIF (orientation 6, GPS) and as a HEIC (quality 80, pillow-heif) with
    the same EXIF. Per round, interleaved, for each file:

    * **confirm**: the object is stored under ``pending/`` of a local media storage in a
      temporary directory (not timed), then ``confirm_upload`` runs exactly as the confirm
      route does: head, read, SHA-256, libmagic sniff, Pillow decode (JPEG at a reduced DCT
      scale, HEIC in full), EXIF orientation, preview (2048) and thumbnail (512) as WEBP,
      both stored, the original moved to ``media/``;
    * **anchor**: ``Image.open`` of the same bytes and ``thumbnail((512, 512))`` (which also
      uses the JPEG draft mode), nothing stored.

    Reported: the median and p90 of each, and the confirm's median over the anchor's."""
    from PIL import Image

    files = _pictures()
    timings: dict[str, dict[str, list[float]]] = {
        name: {"confirm": [], "anchor": []} for name in FORMATS
    }
    with tempfile.TemporaryDirectory(prefix="bench-confirm-") as scratch:
        root = Path(scratch)
        storage = LocalMediaStorage(
            root / "media", LocalMediaStorage.secret_in(root / "keys"), SystemClock()
        )
        limits = MediaLimits()
        for number in range(rounds):
            console.print(f"round {number + 1}/{rounds}")
            for name, content_type in FORMATS.items():
                data = files[name]
                owner, media_id = uuid.uuid4(), uuid.uuid4()
                upload = MediaUpload(
                    media_id=media_id,
                    item_code=None,
                    file_name=f"photo.{name.lower()}",
                    content_type=content_type,
                    size_bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    key=f"pending/inspections/{owner}/{media_id}",
                )
                storage.put(upload.key, data, content_type=content_type)
                started = time.perf_counter()
                confirm_upload(
                    storage, upload, original_key("inspections", owner, media_id), limits
                )
                timings[name]["confirm"].append(time.perf_counter() - started)
                started = time.perf_counter()
                with Image.open(io.BytesIO(data)) as opened:
                    opened.thumbnail((512, 512))
                timings[name]["anchor"].append(time.perf_counter() - started)

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return 1000 * (statistics.median(ordered) if q == 0.5 else ordered[index])

    rows = []
    figures: dict[str, float] = {}
    for name in FORMATS:
        confirm, anchor = timings[name]["confirm"], timings[name]["anchor"]
        c50, c90, a50, a90 = ms(confirm, 0.5), ms(confirm, 0.9), ms(anchor, 0.5), ms(anchor, 0.9)
        figures |= {f"{name}_c50": c50, f"{name}_c90": c90, f"{name}_a50": a50, f"{name}_a90": a90}
        rows.append(
            (
                f"{name} ({len(files[name]) / 1e6:.1f} MB)",
                f"{c50:,.0f}",
                f"{c90:,.0f}",
                f"{a50:,.0f}",
                f"{a90:,.0f}",
                f"{c50 / a50:.2f}",
            )
        )
    show_table(
        f"media confirm, 4000 x 3000, {rounds} rounds",
        ("file", "confirm p50 ms", "confirm p90 ms", "anchor p50 ms", "anchor p90 ms", "ratio"),
        [rows],
        caption="anchor: Image.open + thumbnail((512, 512)) of the same bytes",
    )
    emit(
        "media-confirm",
        figures["JPEG_c50"],
        "ms",
        figures["JPEG_a50"],
        rounds=rounds,
        jpeg_bytes=len(files["JPEG"]),
        jpeg_p90_ms=round(figures["JPEG_c90"], 1),
        heic_bytes=len(files["HEIC"]),
        heic_ms=round(figures["HEIC_c50"], 1),
        heic_p90_ms=round(figures["HEIC_c90"], 1),
        heic_anchor_ms=round(figures["HEIC_a50"], 1),
        heic_ratio=round(figures["HEIC_c50"] / figures["HEIC_a50"], 3),
    )


def _pictures() -> dict[str, bytes]:
    from PIL import ExifTags, Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    gradient = Image.linear_gradient("L").resize(SIZE)
    grain = Image.effect_noise(SIZE, 10)
    picture = Image.merge("RGB", (gradient, Image.blend(gradient, grain, 0.35), grain.rotate(180)))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
    files = {}
    for name, options in (("JPEG", {"quality": 90}), ("HEIC", {"quality": 80})):
        out = io.BytesIO()
        picture.save(out, "HEIF" if name == "HEIC" else name, exif=exif.tobytes(), **options)
        files[name] = out.getvalue()
    return files
