"""How much memory one confirm's decode takes, and how many decode at once (issue 13, review
of the media flow, medium 3). A flat 7000 x 7000 RGBA PNG is 49 megapixels, just under the
limit, in about 200 KB. Measured in a fresh interpreter (``ru_maxrss``, the peak resident set)
so nothing else in the test process counts. Run this file directly to print the numbers:
``python tests/unit/test_media_confirm_memory.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from regenzet.entrypoints.settings import MediaSettings, SettingsError

SIDE = 7000
# The decoded picture alone is 7000 * 7000 * 4 bytes = 187 MiB; a confirm holds it, strips
# of it while reducing, and small images after that (measured: 264 MiB; 1006 MiB before).
BOUND_MIB = 350

_MAKE = """
import sys
from PIL import Image
size = (int(sys.argv[2]), int(sys.argv[3]))
Image.new("RGBA", size, (10, 20, 30, 128)).save(sys.argv[1], "PNG", optimize=True)
"""

_MEASURE = """
import json, resource, sys
from regenzet.application.media_confirm import derive_pictures
data = open(sys.argv[1], "rb").read()
derive_pictures(open(sys.argv[2], "rb").read(), "image/jpeg")  # warm: imports, decoders
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pictures = derive_pictures(data, "image/png")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes": len(data), "before_mib": before / 1024, "after_mib": after / 1024,
                  "size": [pictures.width, pictures.height]}))
"""


def measure(workdir: Path, size: tuple[int, int] = (SIDE, SIDE)) -> dict[str, float]:
    png, small = workdir / "flat-49mp.png", workdir / "small.jpg"
    subprocess.run([sys.executable, "-c", _MAKE, str(png), *map(str, size)], check=True)
    from PIL import Image

    Image.new("RGB", (64, 48), (1, 2, 3)).save(small, "JPEG")
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(png), str(small)],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, float] = json.loads(out.stdout)
    return found


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_reducing_in_strips_is_exactly_reducing_the_whole_picture(mode: str) -> None:
    from PIL import Image

    from regenzet.application.media_confirm import _reduced

    picture = Image.radial_gradient("L").resize((1301, 1403)).convert(mode)
    assert _reduced(picture, 3, convert=False).tobytes() == picture.reduce(3).tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_reducing_in_small_tiles_joins_them_exactly(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiles of 99 x 99 pixels (33 blocks of 3), so the picture is cut in both directions and
    # the edge tiles are partial: the result is still the whole picture's reduce.
    from PIL import Image

    from regenzet.application import media_confirm

    monkeypatch.setattr(media_confirm, "_TILE_PIXELS", 100 * 100)
    picture = Image.radial_gradient("L").resize((1301, 403)).convert(mode)
    expected = media_confirm._plain(picture).reduce(3) if mode == "P" else picture.reduce(3)
    reduced = media_confirm._reduced(picture, 3, convert=mode == "P")
    assert reduced.size == expected.size
    assert reduced.tobytes() == expected.tobytes()


@pytest.mark.parametrize(("raw", "expected"), [("", 2), ("1", 1), ("4", 4)])
def test_the_confirms_decoding_at_once_are_a_setting(raw: str, expected: int) -> None:
    settings = MediaSettings.from_env({"REGENZET_MEDIA_CONFIRM_CONCURRENCY": raw})
    assert settings.confirm_concurrency == expected


def test_no_confirm_at_all_is_not_a_setting() -> None:
    with pytest.raises(SettingsError, match="REGENZET_MEDIA_CONFIRM_CONCURRENCY"):
        MediaSettings.from_env({"REGENZET_MEDIA_CONFIRM_CONCURRENCY": "0"})


@pytest.mark.timeout(180)
@pytest.mark.parametrize("size", [(SIDE, SIDE), (1_000_000, 49)], ids=["square", "wide"])
def test_a_49_megapixel_png_is_confirmed_within_a_memory_bound(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    # The wide one is a picture 1,000,000 x 49 (review: strips of 512 rows were the whole of
    # it, cropped and premultiplied at full size: 567 MiB).
    found = measure(tmp_path, size)
    assert found["size"] == list(size)
    grown = found["after_mib"] - found["before_mib"]
    assert grown < BOUND_MIB, found


if __name__ == "__main__":  # pragma: no cover - a measurement, by hand
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        print(measure(Path(where)), measure(Path(where), (1_000_000, 49)))
