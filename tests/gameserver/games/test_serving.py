"""A served photo's shape says nothing of its source's: every photo is served at one of two common aspect ratios
(4:3 or 16:9, whichever keeps more of it) and a height drawn from one band, whatever its size was. The odd-shaped
photos of osv5m-demo (1193 x 512, 768 x 512, ...) were otherwise found again by their served size alone."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from gameserver.games import serving

# osv5m-demo's sizes: the two common ones, and odd ones that each belong to one to four photos of the set.
SOURCES = [
    (682, 512),
    (910, 512),
    (1193, 512),
    (1109, 512),
    (768, 512),
    (851, 512),
    (970, 512),
    (2048, 1536),
    (160, 120),
    (512, 700),
]


def served_sizes(size: tuple[int, int], *, serves: int) -> list[tuple[int, int]]:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buffer, format="JPEG")
    sizes = []
    for _ in range(serves):
        body, turn = serving.view_encode(data=buffer.getvalue(), equirectangular=False)
        assert turn == 0.0
        with Image.open(io.BytesIO(body)) as image:
            sizes.append(image.size)
    return sizes


@pytest.fixture(autouse=True)
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "_rng", random.Random(5))


def test_every_photo_is_served_in_a_shape_any_photo_of_its_kind_could_have() -> None:
    low, high = serving.served_height_range()
    for size in SOURCES:
        aspect = size[0] / size[1]
        canonical = min(serving.ASPECTS, key=lambda a: max(a, aspect) / min(a, aspect))
        for width, height in served_sizes(size, serves=12):
            assert low <= height <= high, (size, height)
            # The jitter of the crop (4% a side at most) is the only spread left around the common ratio.
            assert abs(width / height / canonical - 1) <= 0.05, (size, width, height)


def test_an_odd_photo_and_a_common_one_share_their_served_sizes() -> None:
    odd, common = served_sizes((1193, 512), serves=40), served_sizes((910, 512), serves=40)
    # Drawn from the same distribution: neither range of widths sticks out of the other's by more than noise.
    assert abs(min(w for w, _ in odd) - min(w for w, _ in common)) <= 25
    assert abs(max(w for w, _ in odd) - max(w for w, _ in common)) <= 25


class Lowest(random.Random):
    """A generator whose every draw is the lowest its range allows: the edge a uniform draw reaches now and then."""

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        return 0 if stop is None else start

    def uniform(self, a: float, b: float) -> float:
        return a

    def randint(self, a: int, b: int) -> int:
        return a


def test_a_panorama_is_never_served_unturned(monkeypatch: pytest.MonkeyPatch) -> None:
    # A turn of 0° would serve the manifest's own heading, a key into the set (about one serve in 700 did).
    monkeypatch.setattr(serving, "_rng", Lowest())
    buffer = io.BytesIO()
    Image.new("RGB", (720, 360), (90, 120, 150)).save(buffer, format="JPEG")
    _, turn = serving.view_encode(data=buffer.getvalue(), equirectangular=True)
    assert 0.0 < turn < 360.0
