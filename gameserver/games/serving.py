"""Each round's own encoding of its view: a small random crop and scale and a random JPEG quality, so the bytes,
their hash and their size differ on every serve and a table built from the public dataset (or from earlier
games) cannot look the answer up. A 360° panorama is turned about its vertical axis by a random angle instead
of cropped, so the heading it opens at is the round's own too. Players and the model get exactly these bytes.

What this does not stop: matching the picture itself (a perceptual hash or an embedding) against the public
dataset it came from. Operators who need that closed serve private sets, and the training-leak check keeps
the model honest in the other direction (README, "Integrity and security")."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops

# A photo is served at whichever of these aspect ratios keeps more of it (cropped about its centre) and at a
# height drawn from PHOTO_HEIGHT x SCALE_RANGE, whatever its own size: a served size is no key to its source
# (osv5m-demo's odd sizes, 1193 x 512 and the like, each belonged to one to four photos of the set).
ASPECTS = (4 / 3, 16 / 9)
PHOTO_HEIGHT = 512  # OSV-5M's (and osv5m-demo's) height
# At most this share of each side is cropped away, at random between the two edges.
CROP_MAX = 0.04
SCALE_RANGE = (0.9, 1.0)
JPEG_QUALITY_RANGE = (84, 92)
# Tests swap in a seeded generator; serving uses the operating system's randomness.
_rng: random.Random = random.SystemRandom()


def served_height_range() -> tuple[int, int]:
    """The heights a photo may be served at, the same for every photo."""
    return round(PHOTO_HEIGHT * SCALE_RANGE[0]), round(PHOTO_HEIGHT * SCALE_RANGE[1])


def view_encode(*, data: bytes, equirectangular: bool) -> tuple[bytes, float]:
    """A fresh JPEG of the stored image `data`, and the degrees a 360° panorama was turned (0 for a photo). A
    photo is cropped to its common aspect ratio (ASPECTS), then at random by up to CROP_MAX a side, and resized to
    a random height of the one band. A panorama keeps its whole sphere (a crop would break the wrap and the 2:1
    projection): it is turned (its columns shifted round, so what was at yaw y is now at y + turn), scaled from
    its own size, keeping 2:1, and re-encoded."""
    with Image.open(io.BytesIO(data)) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    turn = 0.0
    if equirectangular:
        shift = _rng.randrange(1, width)  # never 0: an unturned view would open at the manifest's own heading
        picture = ImageChops.offset(picture, shift, 0)  # wraps round: the sphere is whole
        turn = 360.0 * shift / width
        scale = _rng.uniform(*SCALE_RANGE)
        new_h = max(1, round(height * scale))
        new_w = 2 * new_h
    else:
        picture = picture.crop(_common_aspect_box(width, height))
        width, height = picture.size
        crop_w, crop_h = (int(side * _rng.uniform(0.0, CROP_MAX)) for side in (width, height))
        left, top = _rng.randint(0, crop_w), _rng.randint(0, crop_h)
        picture = picture.crop((left, top, width - (crop_w - left), height - (crop_h - top)))
        new_h = round(PHOTO_HEIGHT * _rng.uniform(*SCALE_RANGE))
        new_w = max(1, round(new_h * picture.width / picture.height))
    # Bilinear after a fast integer reduction of big sources (reducing_gap): smooth enough, and quick.
    picture = picture.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=_rng.randint(*JPEG_QUALITY_RANGE))
    return buffer.getvalue(), turn


def _common_aspect_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred box of a width x height picture at the aspect ratio of ASPECTS that keeps most of it."""
    aspect = width / height
    target = min(ASPECTS, key=lambda a: max(a, aspect) / min(a, aspect))
    if aspect > target:
        keep = max(1, round(height * target))
        left = (width - keep) // 2
        return left, 0, left + keep, height
    keep = max(1, round(width / target))
    top = (height - keep) // 2
    return 0, top, width, top + keep
