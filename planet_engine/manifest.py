"""Manifest CSVs: `file` (relative to the manifest's folder), `latitude`, `longitude`, any other columns kept.

One reader for the engine (training, evaluation) and the game's importer, so both reject the same rows.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planet_engine.bounded_input import csv_error_text, csv_header_problem, csv_records, finite_float, shown
from planet_engine.geo import validate_coordinates

REQUIRED_COLUMNS = ("file", "latitude", "longitude")
FILE_NAME_MAX_CHARS = 500  # as long as the game's column for it; no data set's names come near
# The repository's sibling ../shared/datasets unless PLANET_DATA_DIR says otherwise: the one data setting.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def data_dir() -> Path:
    """Where the real datasets live (PLANET_DATA_DIR, default ../shared/datasets beside the checkout)."""
    return Path(os.environ.get("PLANET_DATA_DIR") or DEFAULT_DATA_DIR)


def problems_text(problems: list[str], *, shown: int = 20) -> str:
    """'N problem(s):' and the first `shown` problems, one per indented line (the rest counted)."""
    listed = "\n  ".join(problems[:shown])
    more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{len(problems)} problem(s):\n  {listed}{more}"


class ManifestError(ValueError):
    """A manifest that cannot be used; `problems` lists every bad row, not just the first. `rows` holds the rows
    that did parse, so that a caller can check those further in the same pass and list every problem at once."""

    def __init__(self, path: Path, problems: list[str], rows: tuple[ManifestRow, ...] = ()) -> None:
        self.path = path
        self.problems = problems
        self.rows = rows
        super().__init__(f"{path}: {problems_text(problems)}")


@dataclass(frozen=True)
class ManifestRow:
    line: int  # 1-based line in the CSV, the header being line 1
    file: str
    path: Path
    latitude: float
    longitude: float
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    path: Path
    rows: tuple[ManifestRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def latitudes(self) -> np.ndarray:
        return np.array([row.latitude for row in self.rows], dtype=np.float64)

    @property
    def longitudes(self) -> np.ndarray:
        return np.array([row.longitude for row in self.rows], dtype=np.float64)

    @property
    def image_paths(self) -> list[Path]:
        return [row.path for row in self.rows]

    def column(self, name: str) -> list[str] | None:
        """An optional column's values, or None when the manifest lacks it."""
        if not self.rows or name not in self.rows[0].extra:
            return None
        return [row.extra[name] for row in self.rows]

    def fingerprint(self) -> str:
        """sha256 of the rows that matter for training, stable across column order."""
        digest = hashlib.sha256()
        for row in self.rows:
            digest.update(f"{row.file}\t{row.latitude!r}\t{row.longitude!r}\n".encode())
        return digest.hexdigest()

    def subset(self, indices: np.ndarray | list[int]) -> Manifest:
        return Manifest(path=self.path, rows=tuple(self.rows[int(i)] for i in indices))

    def places(self) -> list[list[int]]:
        """Row indices of each place in manifest order: rows sharing a `place_id` together, in their order (the
        views of one place); a row without one alone."""
        groups: list[list[int]] = []
        of_place: dict[str, list[int]] = {}
        for index, row in enumerate(self.rows):
            place = row.extra.get("place_id", "")
            if place and place in of_place:
                of_place[place].append(index)
            else:
                groups.append([index])
                if place:
                    of_place[place] = groups[-1]
        return groups


def read_manifest(
    path: str | Path, *, check_files: bool = True, max_rows: int = 10_000_000, coordinates_optional: bool = False
) -> Manifest:
    """Read and validate a manifest; raise ManifestError listing every bad row, or return all rows.

    Rows are rejected for a missing file (when check_files), non-numeric or out-of-range coordinates and
    duplicate file entries. Nothing is returned unless every row is good: callers import all or nothing.
    With coordinates_optional, a row whose latitude and longitude are both blank is kept with NaN for both
    (the game's importer then takes them from the image's EXIF GPS); one blank without the other is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(path, [f"manifest not found: {path}"])
    root = path.parent
    problems: list[str] = []
    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            # strict: an unclosed quote (a file cut mid-field) is an error, not a silently shortened value.
            reader = csv.DictReader(handle, strict=True)
            header = reader.fieldnames or []
            if any("\x00" in column for column in header):
                raise ManifestError(path, ["the header holds a NUL character"])
            too_wide = csv_header_problem(header)
            if too_wide:
                raise ManifestError(path, [too_wide])
            missing = [column for column in REQUIRED_COLUMNS if column not in header]
            if missing:
                raise ManifestError(
                    path, [f"missing column(s) {', '.join(missing)}; header is {shown(','.join(header))}"]
                )
            for line, record in csv_records(reader):
                if isinstance(record, str):
                    problems.append(f"line {line}: {record}")
                    break
                if len(rows) + len(problems) >= max_rows:
                    problems.append(f"more than {max_rows} rows")
                    break
                if None in record or any(value is None for value in record.values()):
                    problems.append(f"line {line}: expected {len(header)} fields")
                    continue
                # No database column holds a NUL (PostgreSQL refuses it), nor does a file name.
                nul = next((column for column, value in record.items() if "\x00" in value), None)
                if nul is not None:
                    problems.append(f"line {line}: {nul} holds a NUL character")
                    continue
                file = record["file"].strip()
                if len(file) > FILE_NAME_MAX_CHARS:  # the game stores it (Panorama.source_file)
                    problems.append(
                        f"line {line}: file is {len(file)} characters long, more than {FILE_NAME_MAX_CHARS}"
                    )
                    continue
                # One key per file however it is spelled: "./a.jpg" and "a//b.jpg" name a.jpg and a/b.jpg.
                first = seen.setdefault(Path(file).as_posix(), line)
                if first != line:
                    problems.append(f"line {line}: duplicate of line {first} ({file})")
                    continue
                try:
                    rows.append(
                        _parse_row(
                            record,
                            line=line,
                            root=root,
                            check_files=check_files,
                            coordinates_optional=coordinates_optional,
                        )
                    )
                except ValueError as error:
                    problems.append(f"line {line}: {error}")
    except UnicodeDecodeError as error:
        raise ManifestError(path, [f"not UTF-8 text: {error}"]) from None
    except csv.Error as error:  # in the header: the rows' own are named by line
        raise ManifestError(path, [csv_error_text(error)]) from None
    if problems:
        raise ManifestError(path, problems, rows=tuple(rows))
    if not rows:
        raise ManifestError(path, ["no rows"])
    return Manifest(path=path, rows=tuple(rows))


def _parse_row(
    record: dict[str, str], *, line: int, root: Path, check_files: bool, coordinates_optional: bool = False
) -> ManifestRow:
    file = record["file"].strip()
    if not file:
        raise ValueError("empty file")
    relative = Path(file)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"file {shown(file)} must be a path inside the manifest's folder")
    if coordinates_optional and not record["latitude"].strip() and not record["longitude"].strip():
        latitude = longitude = math.nan
    else:
        latitude = finite_float(record["latitude"], "latitude")
        longitude = finite_float(record["longitude"], "longitude")
        validate_coordinates(latitude, longitude)
    image_path = root / relative
    if check_files and not image_path.is_file():
        raise ValueError(f"file {shown(file)} not found")
    extra = {key: value for key, value in record.items() if key not in REQUIRED_COLUMNS}
    return ManifestRow(line=line, file=file, path=image_path, latitude=latitude, longitude=longitude, extra=extra)
