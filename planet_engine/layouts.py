"""The published datasets' layouts, read as their users download them (`python -m planet_engine prepare`).

- osv5m: OSV-5M (Astruc et al. 2024) from huggingface.co/datasets/osv5m/osv5m: `train.csv` / `test.csv` (32
  columns: id, latitude, longitude, thumb_original_url, country, ..., region, sub-region, city) and the images in
  numbered zips `images/{split}/00.zip, 01.zip, ...` holding `NN/<id>.jpg`, those zips extracted into
  `images/{split}/NN/`, or both (half-extracted); `--root` may be the hub cache's `datasets--osv5m--osv5m` folder.
- mp16, im2gps3k, yfcc4k: the CSVs of GeoEstimation (Müller-Budack et al. 2018) that GeoCLIP and later work use:
  `mp16_places365.csv`, `im2gps3k_places365.csv`, `yfcc25600_places365.csv` / yfcc4k's, with IMG_ID (the image's
  relative path), LAT, LON and optional AUTHOR / scene columns; images in a folder, a zip, a tar archive (whole or
  in parts) or GeoEstimation's msgpack shards (image_sources.py).
- folder: any folder of photos whose EXIF carries GPS.

Every reader checks every row before anything is written and names the first bad rows. A row whose image is
missing stops it, or with `on_missing="skip"` is left out and listed in `skipped` (prepare writes them to
skipped.csv).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePosixPath

from PIL import ExifTags, Image

from planet_engine.image_sources import (
    CombinedImages,
    FolderImages,
    ImageSource,
    LayoutError,
    ZipImages,
    image_source,
)
from planet_engine.manifest import problems_text

__all__ = ["LAYOUTS", "ON_MISSING", "LayoutError", "LayoutRead", "Sample", "read_layout"]

LAYOUTS = ("osv5m", "mp16", "im2gps3k", "yfcc4k", "folder")
ON_MISSING = ("fail", "skip")
# OSV-5M columns kept in each sample's json (the rest are derived features of the paper's baselines).
OSV5M_KEPT = ("country", "region", "sub-region", "city", "sequence", "captured_at", "creator_username")
# GeoEstimation's column names and the aliases GeoCLIP-style CSVs use.
IMAGE_COLUMNS = ("IMG_ID", "img_id", "image", "file", "filename", "image_file")
LATITUDE_COLUMNS = ("LAT", "lat", "latitude")
LONGITUDE_COLUMNS = ("LON", "lon", "lng", "longitude")
AUTHOR_COLUMNS = ("AUTHOR", "AUTHOR_ID", "author", "author_id")


@dataclass(frozen=True)
class Sample:
    key: str  # unique, safe as a file name inside a tar
    image: str  # the image's name in its ImageSource
    latitude: float
    longitude: float
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class LayoutRead:
    samples: list[Sample]
    source: ImageSource
    skipped: list[str] = field(default_factory=list)  # "line N: <id>: <why>", rows left out by on_missing="skip"
    warnings: list[str] = field(default_factory=list)  # damaged archives whose rows count as missing


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
    raise LayoutError(
        f"{csv_path}: no {names[0]} column (looked for {', '.join(names)}; the header is {', '.join(header)})"
    )


def _by_stem(names: set[str]) -> dict[str, str]:
    return {PurePosixPath(name).stem: name for name in names}


def _check(problems: list[str], where: Path) -> None:
    if problems:
        hint = (
            "\n(rows whose image is missing: rerun with --on-missing skip to leave them out, listed in skipped.csv)"
            if any("no image" in p or "no such image" in p for p in problems)
            else ""
        )
        raise LayoutError(f"{where}: {problems_text(problems)}{hint}")


def _safe_key(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def csv_rows(csv_path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, (line, row) pairs) of a CSV, streamed (OSV-5M's train.csv is 1.5 GB); a UTF-8 BOM is dropped, and
    a row with fewer or more fields than the header is an error naming it: a file cut mid-row (an interrupted
    download) says so."""
    if not csv_path.is_file():
        raise LayoutError(f"{csv_path} missing")
    with csv_path.open("rb") as raw:
        size = raw.seek(0, 2)
        ends_whole = size == 0 or (raw.seek(size - 1) >= 0 and raw.read(1) in b"\r\n")
    cut = "the file is cut mid-row (an interrupted download? fetch it again)"
    handle = csv_path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle, strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except (csv.Error, UnicodeDecodeError) as error:
        handle.close()
        raise LayoutError(f"{csv_path}: not a CSV file ({error})") from None
    if not header:
        handle.close()
        raise LayoutError(f"{csv_path}: empty")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            try:
                for record in reader:
                    if not record:
                        continue
                    if len(record) != len(header):
                        line = reader.line_num
                        last = not ends_whole and next(reader, None) is None
                        raise LayoutError(
                            f"{csv_path}: line {line} has {len(record)} of {len(header)} fields"
                            + (f": {cut}" if last else "")
                        )
                    yield reader.line_num, dict(zip(header, record, strict=True))
            except csv.Error as error:
                raise LayoutError(
                    f"{csv_path}: line {reader.line_num}: {error}" + (f": {cut}" if not ends_whole else "")
                ) from None
            except UnicodeDecodeError as error:
                raise LayoutError(f"{csv_path}: not UTF-8 text ({error})") from None

    return header, rows()


def _missing(line: int, text: str, *, on_missing: str, problems: list[str], skipped: list[str]) -> None:
    (skipped if on_missing == "skip" else problems).append(f"line {line}: {text}")


def osv5m_root(root: Path) -> Path:
    """`root`, or the one snapshot of a Hugging Face hub cache folder (datasets--osv5m--osv5m/snapshots/<sha>)."""
    snapshots = sorted(path for path in (root / "snapshots").glob("*") if path.is_dir())
    if (root / "train.csv").exists() or (root / "test.csv").exists() or not snapshots:
        return root
    if len(snapshots) > 1:
        raise LayoutError(f"{root}: {len(snapshots)} snapshots in the hub cache; pass one of them as --root")
    return snapshots[0]


def osv5m_images(images_dir: Path) -> ImageSource:
    """The split's zips and whatever is extracted beside them (a half-extracted download is read whole)."""
    zips = sorted(images_dir.glob("*.zip"))
    extracted = any(path.is_dir() or path.suffix.lower() == ".jpg" for path in images_dir.iterdir())
    if zips and extracted:
        return CombinedImages([ZipImages(zips), FolderImages(images_dir)])
    return ZipImages(zips) if zips else FolderImages(images_dir)


def read_osv5m(root: Path, split: str = "train", *, on_missing: str = "fail") -> LayoutRead:
    root = osv5m_root(root)
    csv_path = root / f"{split}.csv"
    if not csv_path.is_file():
        raise LayoutError(f"{csv_path} missing: OSV-5M's {split} split is {split}.csv beside images/{split}/")
    images_dir = root / "images" / split
    if not images_dir.is_dir():
        raise LayoutError(f"{images_dir} missing: OSV-5M's images are in images/{split}/00.zip, 01.zip, ...")
    source = osv5m_images(images_dir)
    stems = _by_stem(source.names())
    samples: list[Sample] = []
    problems: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    header, rows = csv_rows(csv_path)
    for column in ("id", "latitude", "longitude"):
        _column(header, (column,), csv_path)
    for line, row in rows:
        identifier = row["id"].strip()
        latitude = _coordinate(row["latitude"], -90, 90)
        longitude = _coordinate(row["longitude"], -180, 180)
        if not identifier:
            problems.append(f"line {line}: empty id")
        elif identifier in seen:
            problems.append(f"line {line}: id {identifier} repeated")
        elif latitude is None or longitude is None:
            problems.append(f"line {line}: id {identifier}: latitude/longitude missing or out of range")
        elif identifier not in stems:
            _missing(
                line,
                f"id {identifier}: no image {identifier}.jpg under {images_dir}",
                on_missing=on_missing,
                problems=problems,
                skipped=skipped,
            )
        else:
            seen.add(identifier)
            meta = {name: row[name] for name in OSV5M_KEPT if row.get(name)}
            samples.append(Sample(_safe_key(identifier), stems[identifier], latitude, longitude, meta))
    _check(problems, csv_path)
    return LayoutRead(samples, source, skipped)


def _swapped_columns(
    values: Iterable[tuple[str, str]], latitude_column: str, longitude_column: str, csv_path: Path
) -> str | None:
    """A message when the latitude column holds values beyond ±90 while every longitude is within ±90."""
    beyond, longitudes_within = 0, True
    for lat, lon in values:
        beyond += _coordinate(lat, -180, 180) is not None and _coordinate(lat, -90, 90) is None
        longitudes_within = longitudes_within and _coordinate(lon, -90, 90) is not None
    if beyond and longitudes_within:
        return (
            f"{csv_path}: the {latitude_column} and {longitude_column} columns look swapped: {beyond} "
            f"row(s) have {latitude_column} beyond ±90 while every {longitude_column} is within ±90 (the 2018 "
            "Im2GPS3k CSV's header names them the wrong way round); rerun with --swap-lat-lon"
        )
    return None


def read_geoestimation(
    csv_path: Path, images: Path, *, on_missing: str = "fail", swap_lat_lon: bool = False
) -> LayoutRead:
    """MP-16, Im2GPS3k, YFCC4k: IMG_ID (relative path, or a bare file name), LAT, LON."""
    header, rows = csv_rows(csv_path)
    image_column = _column(header, IMAGE_COLUMNS, csv_path)
    latitude_column = _column(header, LATITUDE_COLUMNS, csv_path)
    longitude_column = _column(header, LONGITUDE_COLUMNS, csv_path)
    if swap_lat_lon:
        latitude_column, longitude_column = longitude_column, latitude_column
    author_column = next((name for name in AUTHOR_COLUMNS if name in header), None)
    swapped = (
        None
        if swap_lat_lon
        else _swapped_columns(
            ((row[latitude_column], row[longitude_column]) for _, row in rows),
            latitude_column,
            longitude_column,
            csv_path,
        )
    )
    if swapped:
        raise LayoutError(swapped)
    _, rows = csv_rows(csv_path)  # a second pass: MP-16's 4.7M rows are not held twice
    total = 0
    source = image_source(images)
    names = source.names()
    by_name = {PurePosixPath(name).name: name for name in names}
    samples: list[Sample] = []
    problems: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for line, row in rows:
        total += 1
        image_id = row[image_column].strip()
        latitude = _coordinate(row[latitude_column], -90, 90)
        longitude = _coordinate(row[longitude_column], -180, 180)
        # The relative path as written, else the same file name anywhere (an archive's own top folder).
        found = image_id if image_id in names else by_name.get(PurePosixPath(image_id).name)
        if not image_id:
            problems.append(f"line {line}: empty {image_column}")
        elif image_id in seen:
            problems.append(f"line {line}: {image_id} repeated")
        elif latitude is None or longitude is None:
            problems.append(f"line {line}: {image_id}: {latitude_column}/{longitude_column} missing or out of range")
        elif found is None:
            _missing(
                line,
                f"{image_id}: no such image in {images}",
                on_missing=on_missing,
                problems=problems,
                skipped=skipped,
            )
        else:
            seen.add(image_id)
            meta = {"image_id": image_id}
            if author_column and row.get(author_column):
                meta["author"] = row[author_column]
            samples.append(
                Sample(_safe_key(PurePosixPath(image_id).with_suffix("").as_posix()), found, latitude, longitude, meta)
            )
    if problems and not samples and on_missing == "fail" and len(problems) == total and names:
        problems.insert(
            0,
            f"none of the {total} rows' images is among the {len(names)} in {images}: is --images the right download?",
        )
    _check(problems, csv_path)
    return LayoutRead(samples, source, skipped, list(getattr(source, "damaged", [])))


def _degrees(value: tuple[object, ...], reference: str) -> float:
    degrees, minutes, seconds = (float(Fraction(str(part))) if not isinstance(part, float) else part for part in value)
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


def read_folder(root: Path) -> LayoutRead:
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
    return LayoutRead(samples, source)


def read_layout(
    layout: str,
    *,
    root: Path | None = None,
    split: str = "train",
    csv_path: Path | None = None,
    images: Path | None = None,
    on_missing: str = "fail",
    swap_lat_lon: bool = False,
) -> LayoutRead:
    if on_missing not in ON_MISSING:
        raise LayoutError(f"on_missing must be one of {', '.join(ON_MISSING)}, not {on_missing!r}")
    if layout == "osv5m":
        if root is None:
            raise LayoutError("osv5m needs --root, the folder holding train.csv, test.csv and images/")
        return read_osv5m(root, split, on_missing=on_missing)
    if layout in ("mp16", "im2gps3k", "yfcc4k"):
        if csv_path is None or images is None:
            raise LayoutError(
                f"{layout} needs --csv (GeoEstimation's *_places365.csv) and --images (a folder, "
                "zip, tar or msgpack shards)"
            )
        return read_geoestimation(csv_path, images, on_missing=on_missing, swap_lat_lon=swap_lat_lon)
    if layout == "folder":
        if root is None:
            raise LayoutError("folder needs --root, the folder of photos with EXIF GPS")
        return read_folder(root)
    raise LayoutError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
