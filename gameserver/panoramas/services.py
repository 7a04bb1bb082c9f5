"""Importing panorama sets (all or nothing, metadata stripped) and flagging panoramas near training photos.

Coordinates come from the manifest; a row whose latitude and longitude are both blank takes them from the
image's EXIF GPS tags (read at import, never kept: served images are re-encoded without any metadata).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from PIL import ExifTags, Image, ImageOps

from gameserver.panoramas.models import Panorama, PanoramaSet
from planet_engine.countries import continent_of_country, country_index
from planet_engine.geo import pairwise_distances_km
from planet_engine.manifest import ManifestError, ManifestRow, problems_text, read_manifest

# Formats decoded by Pillow's own code only: no plugin that shells out (EPS -> Ghostscript) or parses
# exotic containers. "JPEG" also opens phone JPEGs that carry a second picture (Pillow's MPO).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
# libjpeg's JPEG_MAX_DIMENSION: a wider or taller image could never be re-encoded and served.
JPEG_MAX_SIDE = 65_500
# Distance-matrix entries computed at once by the leak check: 256 x 16384 float64 is 32 MiB.
_LEAK_BLOCK_PANORAMAS = 256
_LEAK_BLOCK_TRAINING = 16_384
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")

# Called as progress(stage, done, total) with stage "checked" or "written".
Progress = Callable[[str, int, int], None]


class PanoramaImportError(ValueError):
    """An import refused as a whole; `problems` lists every bad row ("line N: reason"), nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"nothing imported, {problems_text(problems)}")


@dataclass(frozen=True)
class ImportReport:
    set_id: int
    count: int
    countries: int  # distinct non-empty country codes among the imported panoramas


@dataclass(frozen=True)
class _CheckedRow:
    """A manifest row that passed every check, with everything the database row needs but the image."""

    row: ManifestRow
    latitude: float  # the manifest's, or the image's EXIF GPS position where the manifest left it blank
    longitude: float
    source_sha256: str
    kind: str
    heading: float | None
    manifest_country: str
    licence: str
    attribution: str


def panorama_image_path(*, panorama: Panorama) -> Path:
    """Where the panorama's served (re-encoded, metadata-free) JPEG is stored."""
    return Path(settings.PANORAMA_STORAGE_DIR) / panorama.image_name


def panorama_set_import(*, manifest_path: Path, name: str, licence: str = "", attribution: str = "",
                        kind: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import every row of a manifest as a new set, or nothing at all.

    Optional manifest columns: `heading` (degrees, 0-360), `kind` (photo | equirectangular; else `kind`,
    else photo), `licence` and `attribution` (override the set's), `country` (ISO alpha-2, used only
    where the offline lookup finds no country). Every row is checked before anything is written: the file
    decodes fully, is at most PANORAMA_MAX_BYTES and PANORAMA_MAX_PIXELS (and JPEG_MAX_SIDE a side), is not
    the same image as another row, and an equirectangular image is 2:1. The set is always new (a taken name
    is refused), so there is nothing of the same set in the database to duplicate; the (set, source_sha256)
    constraint backs that up. Raises PanoramaImportError listing every problem.

    Files are written (temp name, then rename) before the short database transaction, so the database is
    not locked while images are encoded; if the transaction fails the files are removed. A caller's own
    enclosing transaction that rolls back later leaves orphan files behind, never missing ones.
    """
    problems = _set_problems(name=name, licence=licence, kind=kind)
    if problems:
        raise PanoramaImportError(problems)
    try:
        manifest = read_manifest(manifest_path, coordinates_optional=True)
    except ManifestError as error:
        # The CSV's own problems (missing files, bad coordinates, repeated rows) come first; the images
        # of a manifest are checked once its rows parse.
        raise PanoramaImportError(error.problems) from None
    checked = _rows_check(rows=manifest.rows, licence=licence, attribution=attribution, kind=kind,
                          progress=progress)
    places = country_index().lookup_many(np.array([item.latitude for item in checked]),
                                         np.array([item.longitude for item in checked]))
    panoramas: list[Panorama] = []
    for item, place in zip(checked, places):
        country = place.country or item.manifest_country
        continent = place.continent or (continent_of_country(country) if country else None) or ""
        panoramas.append(Panorama(
            kind=item.kind, source_sha256=item.source_sha256, source_file=item.row.file,
            latitude=item.latitude, longitude=item.longitude, heading=item.heading,
            country=country, continent=continent, licence=item.licence, attribution=item.attribution,
        ))
    written = _images_write(checked=checked, panoramas=panoramas, progress=progress)
    try:
        with transaction.atomic():
            panorama_set = PanoramaSet.objects.create(name=name, licence=licence, attribution=attribution)
            for panorama in panoramas:
                panorama.panorama_set = panorama_set
            Panorama.objects.bulk_create(panoramas, batch_size=500)
    except BaseException as error:
        _files_remove(written)
        if isinstance(error, IntegrityError) and PanoramaSet.objects.filter(name=name).exists():
            raise PanoramaImportError([f"a panorama set named {name!r} already exists"]) from None
        raise
    return ImportReport(set_id=panorama_set.pk, count=len(panoramas),
                        countries=len({p.country for p in panoramas if p.country}))


def panorama_set_flag_training_leaks(*, panorama_set: PanoramaSet, training_manifest: Path,
                                     radius_km: float = 1.0) -> int:
    """Record each panorama's distance to the nearest training photo and flag those within radius_km.

    Only the training manifest's coordinates are read (its images need not be here). Returns how many
    panoramas of the set are flagged; a rerun with another manifest replaces earlier flags.
    """
    if not (math.isfinite(radius_km) and radius_km >= 0.0):
        raise ValueError(f"radius_km must be a finite number >= 0, got {radius_km}")
    training = read_manifest(training_manifest, check_files=False)
    panoramas = list(panorama_set.panoramas.order_by("pk").only("pk", "latitude", "longitude"))
    if not panoramas:
        return 0
    nearest = _nearest_km(
        np.array([p.latitude for p in panoramas]), np.array([p.longitude for p in panoramas]),
        training.latitudes, training.longitudes,
    )
    for panorama, km in zip(panoramas, nearest.tolist()):
        panorama.nearest_training_km = km
        panorama.near_training_photo = km <= radius_km
    with transaction.atomic():
        Panorama.objects.bulk_update(panoramas, ["near_training_photo", "nearest_training_km"], batch_size=500)
    return sum(p.near_training_photo for p in panoramas)


def _nearest_km(lat: np.ndarray, lon: np.ndarray, train_lat: np.ndarray, train_lon: np.ndarray) -> np.ndarray:
    """(N,) panoramas, (M,) training photos -> (N,) km to the closest training photo, in bounded blocks."""
    nearest = np.full(lat.size, np.inf)
    for start in range(0, lat.size, _LEAK_BLOCK_PANORAMAS):
        rows = slice(start, start + _LEAK_BLOCK_PANORAMAS)
        for train_start in range(0, train_lat.size, _LEAK_BLOCK_TRAINING):
            cols = slice(train_start, train_start + _LEAK_BLOCK_TRAINING)
            block = pairwise_distances_km(lat[rows], lon[rows], train_lat[cols], train_lon[cols])  # (n, m)
            nearest[rows] = np.minimum(nearest[rows], block.min(axis=1))
    return nearest


def _set_problems(*, name: str, licence: str, kind: str | None) -> list[str]:
    problems = []
    try:
        validate_slug(name)
    except ValidationError:
        problems.append(f"set name {name!r} must be a slug (letters, digits, - and _)")
    if len(name) > PanoramaSet._meta.get_field("name").max_length:
        problems.append(f"set name {name!r} is too long")
    if PanoramaSet.objects.filter(name=name).exists():
        problems.append(f"a panorama set named {name!r} already exists")
    if len(licence) > PanoramaSet._meta.get_field("licence").max_length:
        problems.append("licence is too long")
    if kind is not None and kind not in Panorama.Kind.values:
        problems.append(f"kind {kind!r} is not one of {', '.join(Panorama.Kind.values)}")
    return problems


def _rows_check(*, rows: tuple[ManifestRow, ...], licence: str, attribution: str, kind: str | None,
                progress: Progress | None) -> list[_CheckedRow]:
    """Check every row's columns and image; raise PanoramaImportError with all problems, or return them all."""
    problems: list[str] = []
    checked: list[_CheckedRow] = []
    first_line_of: dict[str, int] = {}
    for done, row in enumerate(rows, 1):
        reasons: list[str] = []
        columns = _row_columns(row=row, licence=licence, attribution=attribution, kind=kind, reasons=reasons)
        sha256 = ""
        position = (row.latitude, row.longitude)
        try:
            data = _source_read(row.path)
            sha256 = hashlib.sha256(data).hexdigest()
            first = first_line_of.setdefault(sha256, row.line)
            if first != row.line:
                reasons.append(f"same image as line {first}")
            else:
                image = _image_decode(data)
                if math.isnan(row.latitude):
                    position = _exif_position(data)
                if columns is not None and columns[0] == Panorama.Kind.EQUIRECTANGULAR:
                    _equirectangular_check(image)
                image.close()
        except ValueError as error:
            reasons.append(str(error))
        problems.extend(f"line {row.line}: {reason}" for reason in reasons)
        if not reasons and columns is not None:
            row_kind, heading, country, row_licence, row_attribution = columns
            checked.append(_CheckedRow(row=row, latitude=position[0], longitude=position[1],
                                       source_sha256=sha256, kind=row_kind, heading=heading,
                                       manifest_country=country, licence=row_licence,
                                       attribution=row_attribution))
        if progress:
            progress("checked", done, len(rows))
    if problems:
        raise PanoramaImportError(problems)
    return checked


def _row_columns(*, row: ManifestRow, licence: str, attribution: str, kind: str | None,
                 reasons: list[str]) -> tuple[str, float | None, str, str, str] | None:
    """The optional columns parsed: (kind, heading, country, licence, attribution), or None with reasons."""
    before = len(reasons)
    row_kind = row.extra.get("kind", "").strip().lower() or kind or Panorama.Kind.PHOTO
    if row_kind not in Panorama.Kind.values:
        reasons.append(f"kind {row_kind!r} is not one of {', '.join(Panorama.Kind.values)}")
    heading_text = row.extra.get("heading", "").strip()
    heading = None
    if heading_text:
        try:
            heading = float(heading_text)
        except ValueError:
            heading = math.nan
        if not 0.0 <= heading <= 360.0:  # NaN fails too
            reasons.append(f"heading {heading_text!r} is not a number of degrees in [0, 360]")
        else:
            heading %= 360.0
    country = row.extra.get("country", "").strip().upper()
    if country and not _COUNTRY_CODE.fullmatch(country):
        reasons.append(f"country {country!r} is not an ISO 3166-1 alpha-2 code")
    row_licence = row.extra.get("licence", "").strip() or licence
    if len(row_licence) > Panorama._meta.get_field("licence").max_length:
        reasons.append("licence is too long")
    if len(row.file) > Panorama._meta.get_field("source_file").max_length:
        reasons.append("file path is too long")
    row_attribution = row.extra.get("attribution", "").strip() or attribution
    if len(reasons) > before:
        return None
    return row_kind, heading, country, row_licence, row_attribution


def _source_read(path: Path) -> bytes:
    limit = settings.PANORAMA_MAX_BYTES
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # never more than the limit in memory
    except OSError as error:
        raise ValueError(f"cannot read file: {error.strerror or error}") from None
    if len(data) > limit:
        raise ValueError(f"file is larger than PANORAMA_MAX_BYTES ({limit} bytes)")
    return data


def _image_decode(data: bytes) -> Image.Image:
    """Source bytes -> upright RGB image without metadata; ValueError when they are not a safe, whole image."""
    max_pixels = settings.PANORAMA_MAX_PIXELS
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.UnidentifiedImageError:
        raise ValueError(f"not an image in one of {', '.join(ALLOWED_FORMATS)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"refused as a decompression bomb: {error}") from None
    except Exception as error:  # a header cut short fails in the format's own parser (OSError, SyntaxError, ...)
        raise ValueError(f"image does not decode: {error}") from None
    with image:
        width, height = image.size
        # Checked from the header, before a single pixel is allocated.
        if width * height > max_pixels:
            raise ValueError(f"{width}x{height} is more than PANORAMA_MAX_PIXELS ({max_pixels} pixels): "
                             f"refused as a possible decompression bomb")
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


def _exif_position(data: bytes) -> tuple[float, float]:
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
    if not (math.isfinite(latitude) and math.isfinite(longitude) and abs(latitude) <= 90 and abs(longitude) <= 180):
        raise ValueError(f"the image's EXIF GPS position ({latitude}, {longitude}) is out of range")
    return latitude, longitude


def _dms_degrees(dms: tuple[float, ...], ref: str, hemispheres: str) -> float:
    """EXIF (degrees, minutes, seconds) rationals and a hemisphere letter -> signed decimal degrees."""
    degrees, minutes, seconds = (float(part) for part in dms)
    ref = (ref.decode() if isinstance(ref, bytes) else str(ref)).strip().upper()
    if ref not in hemispheres:
        raise ValueError(f"hemisphere {ref!r}")
    value = degrees + minutes / 60.0 + seconds / 3600.0
    return -value if ref == hemispheres[1] else value


def _equirectangular_check(image: Image.Image) -> None:
    width, height = image.size
    if abs(width - 2 * height) > 1:  # one pixel of slack for odd widths
        raise ValueError(f"equirectangular panorama must be 2:1, got {width}x{height}")


def _jpeg_encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _images_write(*, checked: list[_CheckedRow], panoramas: list[Panorama],
                  progress: Progress | None) -> list[Path]:
    """Re-encode and store every image, filling width/height/content_sha256/image_name; all or none."""
    storage = Path(settings.PANORAMA_STORAGE_DIR)
    storage.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for done, (item, panorama) in enumerate(zip(checked, panoramas), 1):
            data = _source_read(item.row.path)
            if hashlib.sha256(data).hexdigest() != item.source_sha256:
                raise PanoramaImportError([f"line {item.row.line}: file changed during the import"])
            with _image_decode(data) as image:
                jpeg = _jpeg_encode(image)
                panorama.width, panorama.height = image.size
            panorama.content_sha256 = hashlib.sha256(jpeg).hexdigest()
            panorama.image_name = f"{panorama.public_id}.jpg"
            final = storage / panorama.image_name
            temp = storage / f".{panorama.image_name}.part"
            written.append(temp)
            with temp.open("xb") as handle:
                handle.write(jpeg)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
            written.append(final)
            if progress:
                progress("written", done, len(checked))
    except BaseException:
        _files_remove(written)
        raise
    return written


def _files_remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)



def panorama_set_import_zip(*, archive: Path | BinaryIO, name: str, licence: str = "", attribution: str = "",
                            kind: str | None = None) -> ImportReport:
    """Import a zip holding manifest.csv (at its root or in its one top folder) and the images it names.

    The archive is checked before anything is extracted: no absolute paths, `..`, links, devices or encrypted
    entries, at most PANORAMA_ZIP_MAX_FILES entries and PANORAMA_ZIP_MAX_BYTES uncompressed (the declared
    sizes, and again while extracting, since a bomb can lie about them). It is unpacked into a temporary
    folder that is always removed; the import itself is panorama_set_import's, all or nothing.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    # Untrusted bytes: a damaged directory also raises NotImplementedError, ValueError, UnicodeDecodeError, ...
    except Exception as error:
        raise PanoramaImportError([f"not a readable zip archive: {error}"]) from None
    with bundle, tempfile.TemporaryDirectory(prefix="panorama-import-") as temporary:
        entries = [entry for entry in bundle.infolist() if not entry.is_dir()]
        problems = _zip_problems(entries)
        if problems:
            raise PanoramaImportError(problems)
        root = Path(temporary)
        budget = settings.PANORAMA_ZIP_MAX_BYTES
        for entry in entries:
            target = root / entry.filename
            try:
                target.parent.mkdir(parents=True, exist_ok=True)  # fails where a file holds the folder's name
                with bundle.open(entry) as member, target.open("wb") as sink:
                    budget -= _copy_bounded(member, sink, limit=budget)
            except OverflowError:
                raise PanoramaImportError(["the archive unpacks to more than PANORAMA_ZIP_MAX_BYTES"]) from None
            # Corrupt member, bad CRC, truncated data, zlib errors, unsupported compression, bad offsets, ...
            except Exception as error:
                raise PanoramaImportError([f"{entry.filename}: cannot be extracted: {error}"]) from None
        manifests = sorted(p for p in root.rglob("manifest.csv") if len(p.relative_to(root).parts) <= 2)
        if len(manifests) != 1:
            raise PanoramaImportError(["the archive must hold exactly one manifest.csv, at its root or in its "
                                       f"top folder; found {len(manifests)}"])
        return panorama_set_import(manifest_path=manifests[0], name=name, licence=licence,
                                   attribution=attribution, kind=kind)


def _zip_problems(entries: list[zipfile.ZipInfo]) -> list[str]:
    """Everything wrong with an archive's entries, judged from its directory before extracting a byte."""
    problems = []
    if len(entries) > settings.PANORAMA_ZIP_MAX_FILES:
        problems.append(f"{len(entries)} files is more than PANORAMA_ZIP_MAX_FILES "
                        f"({settings.PANORAMA_ZIP_MAX_FILES})")
    if sum(entry.file_size for entry in entries) > settings.PANORAMA_ZIP_MAX_BYTES:
        problems.append(f"the archive unpacks to more than PANORAMA_ZIP_MAX_BYTES "
                        f"({settings.PANORAMA_ZIP_MAX_BYTES} bytes)")
    for entry in entries:
        parts = Path(entry.filename.replace("\\", "/")).parts
        mode = entry.external_attr >> 16
        if entry.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            problems.append(f"{entry.filename}: path leaves the archive's folder")
        # Permission bits without a file type (Python's writestr writes 0o600) are a regular file too.
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            problems.append(f"{entry.filename}: not a regular file (link or device)")
        elif entry.flag_bits & 0x1:
            problems.append(f"{entry.filename}: encrypted entries are not supported")
    return problems


def _copy_bounded(source: BinaryIO, sink: BinaryIO, *, limit: int) -> int:
    """Copy at most `limit` bytes; OverflowError past it. Returns the bytes copied."""
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            raise OverflowError(limit)
        sink.write(chunk)
    return copied
