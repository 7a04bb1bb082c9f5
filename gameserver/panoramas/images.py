"""Reading untrusted image files: bounded reads, safe decoding (formats, pixel and side limits, whole
decode), the EXIF GPS position, and the metadata-free JPEG encoding that players and the model are served.
Every check raises ValueError with a message that names the problem."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from planet_engine.geo import validate_coordinates

# Formats decoded by Pillow's own code only: no plugin that shells out (EPS -> Ghostscript) or parses
# exotic containers. "JPEG" also opens phone JPEGs that carry a second picture (Pillow's MPO).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
# libjpeg's JPEG_MAX_DIMENSION: a wider or taller image could never be re-encoded and served.
JPEG_MAX_SIDE = 65_500


def source_read(path: Path) -> bytes:
    limit = settings.PANORAMA_MAX_BYTES
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # never more than the limit in memory
    except OSError as error:
        raise ValueError(f"cannot read file: {error.strerror or error}") from None
    if len(data) > limit:
        raise ValueError(f"file is larger than PANORAMA_MAX_BYTES ({limit} bytes)")
    return data


def image_decode(data: bytes) -> Image.Image:
    """Source bytes -> upright RGB image without metadata; ValueError when they are not a safe, whole image."""
    max_pixels = settings.PANORAMA_MAX_PIXELS
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ValueError(f"not an image in one of {', '.join(ALLOWED_FORMATS)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"refused as a decompression bomb: {error}") from None
    except Exception as error:  # a header cut short fails in the format's own parser (OSError, SyntaxError, ...)
        raise ValueError(f"image does not decode: {error}") from None
    with image:
        width, height = image.size
        # Checked from the header, before a single pixel is allocated.
        if width * height > max_pixels:
            raise ValueError(
                f"{width}x{height} is more than PANORAMA_MAX_PIXELS ({max_pixels} pixels): "
                f"refused as a possible decompression bomb"
            )
        if max(width, height) > JPEG_MAX_SIDE:
            raise ValueError(f"{width}x{height} is larger than a JPEG can be ({JPEG_MAX_SIDE} pixels a side)")
        try:
            image.load()  # the whole image: a truncated file fails here
            upright = ImageOps.exif_transpose(image).convert("RGB")
        # Untrusted bytes: Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error, ... alike.
        except Exception as error:
            raise ValueError(f"image does not decode: {error}") from None
    upright.info = {}  # no EXIF, ICC profile, XMP or comment may follow the pixels into the JPEG
    return upright


def exif_position(data: bytes) -> tuple[float, float]:
    """The EXIF GPS position of an image that already decoded; ValueError when it has none or a bad one."""
    missing = "no latitude/longitude in the manifest and no EXIF GPS position in the image"
    with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _dms_degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef, "N"), "NS")
        longitude = _dms_degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef, "E"), "EW")
    except KeyError:
        raise ValueError(missing) from None
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError("the image's EXIF GPS position is malformed") from None
    try:
        validate_coordinates(latitude, longitude)
    except ValueError as error:
        raise ValueError(f"the image's EXIF GPS position is out of range: {error}") from None
    return latitude, longitude


def _dms_degrees(dms: tuple[float, ...], ref: str, hemispheres: str) -> float:
    """EXIF (degrees, minutes, seconds) rationals and a hemisphere letter -> signed decimal degrees."""
    degrees, minutes, seconds = (float(part) for part in dms)
    ref = (ref.decode() if isinstance(ref, bytes) else str(ref)).strip().upper()
    if ref not in hemispheres:
        raise ValueError(f"hemisphere {ref!r}")
    value = degrees + minutes / 60.0 + seconds / 3600.0
    return -value if ref == hemispheres[1] else value


def equirectangular_check(image: Image.Image) -> None:
    width, height = image.size
    if abs(width - 2 * height) > 1:  # one pixel of slack for odd widths
        raise ValueError(f"equirectangular panorama must be 2:1, got {width}x{height}")


def jpeg_encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
