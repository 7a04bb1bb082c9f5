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

# At most this share of each side is cropped away, at random between the two edges.
CROP_MAX = 0.04
SCALE_RANGE = (0.9, 1.0)
JPEG_QUALITY_RANGE = (84, 92)
# Tests swap in a seeded generator; serving uses the operating system's randomness.
_rng: random.Random = random.SystemRandom()


def view_encode(*, data: bytes, equirectangular: bool) -> tuple[bytes, float]:
    """A fresh JPEG of the stored image `data`, and the degrees a 360° panorama was turned (0 for a photo). A
    panorama keeps its whole sphere (a crop would break the wrap and the 2:1 projection): it is turned (its
    columns shifted round, so what was at yaw y is now at y + turn), scaled, keeping 2:1, and re-encoded."""
    with Image.open(io.BytesIO(data)) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    turn = 0.0
    if equirectangular:
        shift = _rng.randrange(width)
        picture = ImageChops.offset(picture, shift, 0)  # wraps round: the sphere is whole
        turn = 360.0 * shift / width
    else:
        crop_w, crop_h = (int(side * _rng.uniform(0.0, CROP_MAX)) for side in (width, height))
        left, top = _rng.randint(0, crop_w), _rng.randint(0, crop_h)
        picture = picture.crop((left, top, width - (crop_w - left), height - (crop_h - top)))
    scale = _rng.uniform(*SCALE_RANGE)
    new_w, new_h = max(1, round(picture.width * scale)), max(1, round(picture.height * scale))
    if equirectangular:
        new_w = 2 * new_h
    picture = picture.resize((new_w, new_h), Image.Resampling.BILINEAR)  # a 0.9-1 scale: bilinear is enough, and fast
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=_rng.randint(*JPEG_QUALITY_RANGE))
    return buffer.getvalue(), turn
