"""The published datasets' layouts, read as their users download them (`python -m planet_engine prepare`).

- osv5m: OSV-5M (Astruc et al. 2024) from huggingface.co/datasets/osv5m/osv5m: `train.csv` / `test.csv` (id,
  latitude, longitude, thumb_original_url, country, sequence, captured_at, ..., region, sub-region, city, ...) and
  the images in numbered zip shards `images/{split}/00.zip, 01.zip, ...` holding `<id>.jpg`, or those zips
  already extracted into `images/{split}/`.
- mp16, im2gps3k, yfcc4k: the CSVs of GeoEstimation (Müller-Budack et al. 2018) that GeoCLIP and later work use:
  `mp16_places365.csv`, `im2gps3k_places365.csv`, `yfcc25600_places365.csv` / yfcc4k's, with IMG_ID (the image's
  relative path), LAT, LON and optional AUTHOR / scene columns; images in a folder, a zip or a tar archive.
- folder: any folder of photos whose EXIF carries GPS.

Every reader checks every row before anything is written (all or nothing, like the manifest reader): a clear
error names the first bad rows.
"""

from __future__ import annotations

import csv
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Protocol

from PIL import ExifTags, Image

from planet_engine.manifest import problems_text

LAYOUTS = ("osv5m", "mp16", "im2gps3k", "yfcc4k", "folder")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# OSV-5M columns kept in each sample's json (the rest are derived features of the paper's baselines).
OSV5M_KEPT = ("country", "region", "sub-region", "city", "sequence", "captured_at", "creator_username")
# GeoEstimation's column names and the aliases GeoCLIP-style CSVs use.
IMAGE_COLUMNS = ("IMG_ID", "img_id", "image", "file", "filename", "image_file")
LATITUDE_COLUMNS = ("LAT", "lat", "latitude")
LONGITUDE_COLUMNS = ("LON", "lon", "lng", "longitude")
AUTHOR_COLUMNS = ("AUTHOR", "AUTHOR_ID", "author", "author_id")


class LayoutError(ValueError):
    """A dataset that does not match its layout; the message names the first bad rows."""


@dataclass(frozen=True)
class Sample:
    key: str  # unique, safe as a file name inside a tar
    image: str  # the image's name in its ImageSource
    latitude: float
    longitude: float
    meta: dict[str, str] = field(default_factory=dict)


class ImageSource(Protocol):
    def names(self) -> set[str]: ...
    def read(self, name: str) -> bytes: ...


class FolderImages:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> set[str]:
        return {path.relative_to(self.root).as_posix() for path in self.root.rglob("*")
                if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()}

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


class ZipImages:
    """One or more zip archives (OSV-5M's numbered shards); entries are read without extracting."""

    def __init__(self, archives: list[Path]) -> None:
        self.archives = archives
        self._where: dict[str, Path] = {}
        self._open: dict[Path, zipfile.ZipFile] = {}

    def names(self) -> set[str]:
        for archive in self.archives:
            with zipfile.ZipFile(archive) as opened:
                for info in opened.infolist():
                    if not info.is_dir() and PurePosixPath(info.filename).suffix.lower() in IMAGE_SUFFIXES:
                        self._where[info.filename] = archive
        return set(self._where)

    def read(self, name: str) -> bytes:
        archive = self._where[name]
        if archive not in self._open:
            self._open[archive] = zipfile.ZipFile(archive)
        return self._open[archive].read(name)


class TarImages:
    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self._tar: tarfile.TarFile | None = None

    def names(self) -> set[str]:
        with tarfile.open(self.archive) as opened:
            return {member.name for member in opened.getmembers()
                    if member.isfile() and PurePosixPath(member.name).suffix.lower() in IMAGE_SUFFIXES}

    def read(self, name: str) -> bytes:
        if self._tar is None:
            self._tar = tarfile.open(self.archive)
        extracted = self._tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def image_source(path: Path) -> ImageSource:
    """A folder, a zip or a tar archive of images."""
    if path.is_dir():
        return FolderImages(path)
    if zipfile.is_zipfile(path):
        return ZipImages([path])
    if tarfile.is_tarfile(path):
        return TarImages(path)
    raise LayoutError(f"{path}: not a folder, a zip or a tar archive of images")


def _coordinate(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def _column(header: list[str], names: tuple[str, ...], csv_path: Path) -> str:
    for name in names:
        if name in header:
            return name
    raise LayoutError(f"{csv_path}: no {names[0]} column (looked for {', '.join(names)}; the header is "
                      f"{', '.join(header)})")


def _by_stem(names: set[str]) -> dict[str, str]:
    return {PurePosixPath(name).stem: name for name in names}


def _check(problems: list[str], where: Path) -> None:
    if problems:
        raise LayoutError(f"{where}: {problems_text(problems)}")


def _safe_key(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def read_osv5m(root: Path, split: str = "train") -> tuple[list[Sample], ImageSource]:
    csv_path = root / f"{split}.csv"
    if not csv_path.is_file():
        raise LayoutError(f"{csv_path} missing: OSV-5M's {split} split is {split}.csv beside images/{split}/")
    images_dir = root / "images" / split
    zips = sorted(images_dir.glob("*.zip"))
    source: ImageSource = ZipImages(zips) if zips else FolderImages(images_dir)
    stems = _by_stem(source.names())
    samples, problems, seen = [], [], set()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        for column in ("id", "latitude", "longitude"):
            _column(header, (column,), csv_path)
        for line, row in enumerate(reader, start=2):
            identifier = (row.get("id") or "").strip()
            latitude = _coordinate(row.get("latitude") or "", -90, 90)
            longitude = _coordinate(row.get("longitude") or "", -180, 180)
            if not identifier:
                problems.append(f"line {line}: empty id")
            elif identifier in seen:
                problems.append(f"line {line}: id {identifier} repeated")
            elif latitude is None or longitude is None:
                problems.append(f"line {line}: id {identifier}: latitude/longitude missing or out of range")
            elif identifier not in stems:
                problems.append(f"line {line}: id {identifier}: no image {identifier}.jpg under {images_dir}")
            else:
                seen.add(identifier)
                meta = {name: row[name] for name in OSV5M_KEPT if row.get(name)}
                samples.append(Sample(_safe_key(identifier), stems[identifier], latitude, longitude, meta))
    _check(problems, csv_path)
    return samples, source


def read_geoestimation(csv_path: Path, images: Path) -> tuple[list[Sample], ImageSource]:
    """MP-16, Im2GPS3k, YFCC4k: IMG_ID (relative path, or a bare file name), LAT, LON."""
    if not csv_path.is_file():
        raise LayoutError(f"{csv_path} missing")
    source = image_source(images)
    names = source.names()
    by_name = {PurePosixPath(name).name: name for name in names}
    samples, problems, seen = [], [], set()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        image_column = _column(header, IMAGE_COLUMNS, csv_path)
        latitude_column = _column(header, LATITUDE_COLUMNS, csv_path)
        longitude_column = _column(header, LONGITUDE_COLUMNS, csv_path)
        author_column = next((name for name in AUTHOR_COLUMNS if name in header), None)
        for line, row in enumerate(reader, start=2):
            image_id = (row.get(image_column) or "").strip()
            latitude = _coordinate(row.get(latitude_column) or "", -90, 90)
            longitude = _coordinate(row.get(longitude_column) or "", -180, 180)
            # The relative path as written, else the same file name anywhere (an archive's own top folder).
            found = image_id if image_id in names else by_name.get(PurePosixPath(image_id).name)
            if not image_id:
                problems.append(f"line {line}: empty {image_column}")
            elif image_id in seen:
                problems.append(f"line {line}: {image_id} repeated")
            elif latitude is None or longitude is None:
                problems.append(f"line {line}: {image_id}: {latitude_column}/{longitude_column} missing or "
                                "out of range")
            elif found is None:
                problems.append(f"line {line}: {image_id}: no such image in {images}")
            else:
                seen.add(image_id)
                meta = {"image_id": image_id}
                if author_column and row.get(author_column):
                    meta["author"] = row[author_column]
                samples.append(Sample(_safe_key(PurePosixPath(image_id).with_suffix("").as_posix()), found,
                                      latitude, longitude, meta))
    _check(problems, csv_path)
    return samples, source


def _degrees(value: tuple[object, ...], reference: str) -> float:
    degrees, minutes, seconds = (float(Fraction(str(part))) if not isinstance(part, float) else part
                                 for part in value)
    signed = float(degrees) + float(minutes) / 60 + float(seconds) / 3600
    return -signed if reference in ("S", "W") else signed


def exif_location(data: Image.Image) -> tuple[float, float] | None:
    gps = data.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return latitude, longitude
    return None


def read_folder(root: Path) -> tuple[list[Sample], ImageSource]:
    """Photos with GPS in their EXIF, anywhere under `root`."""
    source = FolderImages(root)
    samples, problems = [], []
    for name in sorted(source.names()):
        try:
            with Image.open(root / name) as opened:
                location = exif_location(opened)
        except OSError as error:
            problems.append(f"{name}: not an image ({error})")
            continue
        if location is None:
            problems.append(f"{name}: no GPS position in its EXIF")
        else:
            samples.append(Sample(_safe_key(PurePosixPath(name).with_suffix("").as_posix()), name, *location))
    if not samples and not problems:
        problems.append("no images found")
    _check(problems, root)
    return samples, source


def read_layout(layout: str, *, root: Path | None = None, split: str = "train", csv_path: Path | None = None,
                images: Path | None = None) -> tuple[list[Sample], ImageSource]:
    if layout == "osv5m":
        if root is None:
            raise LayoutError("osv5m needs --root, the folder holding train.csv, test.csv and images/")
        return read_osv5m(root, split)
    if layout in ("mp16", "im2gps3k", "yfcc4k"):
        if csv_path is None or images is None:
            raise LayoutError(f"{layout} needs --csv (GeoEstimation's *_places365.csv) and --images (a folder, "
                              "zip or tar)")
        return read_geoestimation(csv_path, images)
    if layout == "folder":
        if root is None:
            raise LayoutError("folder needs --root, the folder of photos with EXIF GPS")
        return read_folder(root)
    raise LayoutError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")


def iter_bytes(samples: list[Sample], source: ImageSource, start: int = 0) -> Iterator[tuple[Sample, bytes]]:
    for sample in samples[start:]:
        yield sample, source.read(sample.image)
