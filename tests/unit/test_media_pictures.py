"""The previews a confirm derives show the picture as it is (issue 13, review of the media flow:
16-bit greyscale came out white)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from regenzet.application.media_confirm import derive_pictures


@pytest.mark.parametrize("size", [(300, 200), (6000, 4000)], ids=["small", "reduced"])
def test_a_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped_to_white(
    size: tuple[int, int],
) -> None:
    # A thermal camera's PNG: a left-to-right gradient over the whole 16-bit range. The larger
    # one goes through the tiled integer reduce, the smaller straight to the preview.
    gradient = Image.linear_gradient("L").rotate(90).resize(size)
    picture = gradient.convert("I").point(lambda value: value * 256).convert("I;16")
    data = io.BytesIO()
    picture.save(data, "PNG")
    derived = derive_pictures(data.getvalue(), "image/png")
    assert (derived.width, derived.height) == size
    for webp in (derived.preview, derived.thumbnail):
        shown = Image.open(io.BytesIO(webp)).convert("L")
        assert 110 < ImageStat.Stat(shown).mean[0] < 145  # mid-grey on average, not white
        low, high = shown.getextrema()
        assert low < 20  # black to white, as the original
        assert high > 235
