"""Miniatures of the published datasets' layouts as downloaded, built at test time: OSV-5M on Hugging Face (32
columns, integer-text ids, a quoted `cell`, a float `creator_id`, images/{split}/NN.zip holding NN/<id>.jpg; also
extracted, half-extracted and through the hub cache's symlinks), GeoEstimation's *_places365.csv (Im2GPS3k, YFCC4k,
MP-16; the 2018 Im2GPS3k CSV's swapped LAT/LON header), im2gps3ktest.zip, yfcc4k.zip, MP-16 as GeoEstimation's
downloader stores it (msgpack `shard_N.msg` files of {"image", "id"} records) and a tar split into parts."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import msgpack
import numpy as np
from PIL import Image

OSV5M_COLUMNS = [
    "id",
    "latitude",
    "longitude",
    "thumb_original_url",
    "country",
    "sequence",
    "captured_at",
    "lon_bin",
    "lat_bin",
    "cell",
    "land_cover",
    "road_index",
    "drive_side",
    "climate",
    "soil",
    "dist_sea",
    "quadtree_10_5000",
    "quadtree_10_25000",
    "quadtree_10_1000",
    "quadtree_10_50000",
    "quadtree_10_12500",
    "quadtree_10_500",
    "quadtree_10_2500",
    "unique_region",
    "unique_sub-region",
    "unique_city",
    "unique_country",
    "creator_username",
    "creator_id",
    "region",
    "sub-region",
    "city",
]
GEOESTIMATION_COLUMNS = [
    "IMG_ID",
    "AUTHOR",
    "LAT",
    "LON",
    "S3_Label",
    "S16_Label",
    "S365_Label",
    "Prob_indoor",
    "Prob_natural",
    "Prob_urban",
]
# Places spread over the world: every miniature draws from these.
_rng = np.random.default_rng(7)
PLACES = [
    (round(float(lat), 6), round(float(lon), 6))
    for lat, lon in zip(_rng.uniform(-55, 70, 48), _rng.uniform(-179, 179, 48), strict=True)
]


def jpeg(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def truncated_jpeg(seed: int) -> bytes:
    """A JPEG cut short, as an interrupted download leaves it: Image.verify() accepts it, decoding does not."""
    whole = jpeg(seed, (64, 48))
    return whole[: len(whole) * 2 // 3]


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def osv5m_row(identifier: int, latitude: float, longitude: float) -> list[object]:
    row: dict[str, object] = dict.fromkeys(OSV5M_COLUMNS, 0)
    row.update(
        {
            "id": identifier,
            "latitude": latitude,
            "longitude": longitude,
            "thumb_original_url": f"https://example.org/{identifier}.jpg",
            "country": "FR",
            "sequence": "seq-1",
            "captured_at": 1600000000000,
            "cell": f"({int(longitude)}, {int(latitude)})",
            "creator_username": "mapper",
            "creator_id": 1.02345678e14,
            "region": "R",
            "sub-region": "S",
            "city": "C",
            "land_cover": 40,
            "dist_sea": 0.12,
        }
    )
    return [row[column] for column in OSV5M_COLUMNS]


def osv5m(
    root: Path,
    *,
    split: str = "train",
    places: list[tuple[float, float]] | None = None,
    mode: str = "zipped",
    zips: int = 2,
    missing: tuple[int, ...] = (),
    corrupt: tuple[int, ...] = (),
    bom: bool = False,
    first_id: int = 100_000_000_000,
) -> list[int]:
    """OSV-5M's layout; mode zipped, extracted or half (zip 00 extracted and deleted, the others still zips).
    Returns the ids in CSV order."""
    places = places if places is not None else PLACES
    ids = [first_id + 7 * n for n in range(len(places))]
    write_csv(
        root / f"{split}.csv",
        OSV5M_COLUMNS,
        [osv5m_row(i, *place) for i, place in zip(ids, places, strict=True)],
        bom=bom,
    )
    images = root / "images" / split
    images.mkdir(parents=True, exist_ok=True)
    for n, identifier in enumerate(ids):
        if n in missing:
            continue
        data = truncated_jpeg(n) if n in corrupt else jpeg(n)
        part = n % zips
        if mode == "extracted" or (mode == "half" and part == 0):
            (images / f"{part:02d}").mkdir(exist_ok=True)
            (images / f"{part:02d}" / f"{identifier}.jpg").write_bytes(data)
        else:
            with zipfile.ZipFile(images / f"{part:02d}.zip", "a") as archive:
                archive.writestr(f"{part:02d}/{identifier}.jpg", data)
    return ids


def hub_cache(cache: Path, download: Path) -> Path:
    """`download` (an OSV-5M layout) moved into a Hugging Face hub cache: content-addressed blobs and a snapshot
    of relative symlinks. Returns the datasets--osv5m--osv5m folder."""
    repo = cache / "datasets--osv5m--osv5m"
    snapshot = repo / "snapshots" / ("a" * 40)
    for path in sorted(download.rglob("*")):
        if path.is_dir():
            continue
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / path.relative_to(download)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return repo


def geoestimation(
    path: Path, rows: list[tuple[str, float, float]], *, swapped_header: bool = False, bom: bool = False
) -> Path:
    """*_places365.csv; `swapped_header`: the 2018 Im2GPS3k file, whose header says LON,LAT over lat,lon values."""
    header = list(GEOESTIMATION_COLUMNS)
    if swapped_header:
        header[2], header[3] = "LON", "LAT"
    return write_csv(
        path,
        header,
        [[name, f"{n}@N00", lat, lon, 1, 8, 279, 0.1, 0.8, 0.1] for n, (name, lat, lon) in enumerate(rows)],
        bom=bom,
    )


def flickr_name(n: int) -> str:
    return f"{1000269685 + n}_e60e9cdf{n:02d}_1125_78841376@N00.jpg"


def zip_folder(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    """im2gps3ktest.zip / yfcc4k.zip: the images in one top folder."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{folder}/{name}", data)
    return path


def mp16_msgpack(folder: Path, files: dict[str, bytes], *, per_shard: int = 5) -> Path:
    """GeoEstimation's downloader output: shard_0.msg, shard_1.msg, ... of msgpack {"image", "id"} records."""
    folder.mkdir(parents=True, exist_ok=True)
    items = list(files.items())
    for shard in range(0, len(items), per_shard):
        with (folder / f"shard_{shard // per_shard}.msg").open("wb") as handle:
            for name, data in items[shard : shard + per_shard]:
                handle.write(msgpack.packb({"image": data, "id": name}))
    return folder


def split_tar(path: Path, files: dict[str, bytes], *, parts: int = 3) -> list[Path]:
    """A tar of `files` split as `split -b` does: path.aa, path.ab, ... (the whole is not kept)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    whole = buffer.getvalue()
    step = -(-len(whole) // parts)
    written = []
    for n in range(parts):
        part = path.with_name(f"{path.name}.a{chr(ord('a') + n)}")
        part.write_bytes(whole[n * step : (n + 1) * step])
        written.append(part)
    return written
