"""The fixed view of an equirectangular panorama, for rounds that may not pan or zoom (NMPZ).

Such a round serves this flat render instead of the whole panorama, so the player cannot see more than the
opening view (even by reading the image bytes) and the model guesses on exactly the same pixels."""

from __future__ import annotations

import hashlib
import io
import math

import numpy as np
from PIL import Image

from gameserver.objectstore import object_exists, object_write
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import image_open, panorama_image_key, panorama_view_key

VIEW_HFOV_DEG = 100.0  # what the viewer opens at
VIEW_SIZE = (1024, 640)  # width, height of the render
VIEW_JPEG_QUALITY = 90


def perspective_from_equirectangular(
    pixels: np.ndarray, *, heading_deg: float, hfov_deg: float, width: int, height: int
) -> np.ndarray:
    """Pinhole view at pitch 0 looking at `heading_deg` (0 = the panorama's centre column, positive to
    the right, as the viewer's yaw); bilinear sampling, wrapping across the panorama's seam.
    pixels: (H, W, 3) uint8 equirectangular -> (height, width, 3) uint8."""
    source_h, source_w = pixels.shape[:2]
    focal = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    x = (np.arange(width) + 0.5 - width / 2) / focal  # (width,) camera right
    y = (np.arange(height) + 0.5 - height / 2) / focal  # (height,) camera down
    xx, yy = np.meshgrid(x, y)  # (height, width)
    longitude = math.radians(heading_deg) + np.arctan2(xx, 1.0)
    latitude = -np.arctan2(yy, np.hypot(xx, 1.0))
    # Source pixel coordinates; pixel centres at +0.5.
    u = (longitude / (2 * math.pi) + 0.5) * source_w - 0.5
    v = (0.5 - latitude / math.pi) * source_h - 0.5
    u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    du, dv = (u - u0)[..., None], (v - v0)[..., None]
    u0, u1 = u0 % source_w, (u0 + 1) % source_w
    v0, v1 = np.clip(v0, 0, source_h - 1), np.clip(v0 + 1, 0, source_h - 1)
    source = pixels.astype(np.float32)
    top = source[v0, u0] * (1 - du) + source[v0, u1] * du
    bottom = source[v1, u0] * (1 - du) + source[v1, u1] * du
    return np.clip(top * (1 - dv) + bottom * dv + 0.5, 0, 255).astype(np.uint8)


def panorama_fixed_view_key(*, panorama: Panorama, heading_deg: float) -> str:
    """The stored render of `panorama` seen at `heading_deg`, written once (whole) and reused."""
    key = hashlib.sha256(f"{panorama.content_sha256}:{heading_deg:.3f}:{VIEW_HFOV_DEG}:{VIEW_SIZE}".encode())
    stored = panorama_view_key(panorama=panorama, key=key.hexdigest()[:16])
    if object_exists(key=stored):
        return stored
    pixels = np.asarray(image_open(key=panorama_image_key(panorama=panorama)).convert("RGB"))
    view = perspective_from_equirectangular(
        pixels, heading_deg=heading_deg, hfov_deg=VIEW_HFOV_DEG, width=VIEW_SIZE[0], height=VIEW_SIZE[1]
    )
    buffer = io.BytesIO()
    Image.fromarray(view).save(buffer, format="JPEG", quality=VIEW_JPEG_QUALITY)
    return object_write(key=stored, data=buffer.getvalue())
