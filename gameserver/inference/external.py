"""External opponents: a model trained elsewhere (GeoCLIP, PIGEON, ...) registered by its predictions for a
panorama set, one row per panorama, so it faces the same humans as the models the worker runs.

A predictions file is CSV (columns `file, latitude, longitude` and optionally `top_cells`, a JSON list) or JSON
lines (`.jsonl`, one object per line with the same keys; `top_cells` a list). `file` is the panorama's file
name in the set's manifest (`images/xyz.jpg`), or its base name where that is unique in the set. `top_cells`
holds up to TOP_CELLS_MAX S2 cells as `[token, probability]` or `{"token": ..., "probability": ...}`, each
probability in [0, 1] and their sum at most 1. Every row is checked before anything is written; a file with any
bad row is refused whole, every bad row named. Rows are read within planet_engine/bounded_input's bounds (field
length, JSON depth, number length) and PREDICTIONS_MAX_ROWS, each breach a row's problem. The predictions were
made on the original files, so their rounds record the view `original`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from gameserver.audit import ADDITION, audit_log
from gameserver.inference.models import ExternalPrediction, ModelVersion
from gameserver.panoramas.models import PanoramaSet
from planet_engine.bounded_input import csv_error_text, csv_header_problem, csv_records, finite_float, json_parse, shown
from planet_engine.cells import token_center, token_polygon
from planet_engine.geo import validate_coordinates
from planet_engine.manifest import FILE_NAME_MAX_CHARS, problems_text

TOP_CELLS_MAX = 100
TOKEN_MAX_CHARS = 16  # an S2 token is a cell id's hex, trailing zeros dropped
PREDICTIONS_MAX_BYTES = 100 * 1024 * 1024
PREDICTIONS_MAX_ROWS = 1_000_000  # more than any set's panoramas: a row beyond is a duplicate or unknown anyway
POLYGON_POINTS_PER_EDGE = 4  # as the worker draws a model's cells
# Probabilities that should sum to one are written with rounding: allow that much over.
SUM_TOLERANCE = 1e-6


class PredictionsError(ValueError):
    """A predictions file refused whole; `problems` names every bad row ("line N: reason"); nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"nothing registered, {problems_text(problems)}")


@dataclass(frozen=True)
class _Row:
    line: int
    panorama_id: int
    latitude: float
    longitude: float
    top_cells: list[dict[str, object]]


def predictions_file_read(*, path: Path) -> bytes:
    """A predictions file's bytes, refused when missing or over PREDICTIONS_MAX_BYTES."""
    if not path.is_file():
        raise PredictionsError([f"predictions file not found: {path}"])
    if path.stat().st_size > PREDICTIONS_MAX_BYTES:
        raise PredictionsError([f"{path} is over {PREDICTIONS_MAX_BYTES // 2**20} MiB"])
    return path.read_bytes()


def external_predictions_register(
    *,
    name: str,
    panorama_set: PanoramaSet,
    data: bytes,
    file_name: str,
    source: str,
    default: bool = False,
    description: str = "",
    partial: bool = False,
    user_id: int | None = None,
) -> ModelVersion:
    """Register (or re-register) the model `name` by its predictions for `panorama_set`: `data`, the contents of
    the file `file_name` (its suffix says the format), recorded as coming from `source` (a path, an upload);
    any predictions it had for that set are replaced, those for other sets stay. All or nothing. A file that
    leaves some of the set's panoramas without a prediction is refused, saying how many, unless `partial` (its
    games then play only the panoramas it predicts). The registration is in the admin's history."""
    try:
        validate_slug(name)
    except ValidationError:
        raise PredictionsError([f"model name {name!r} must be a slug (letters, digits, - and _)"]) from None
    taken = ModelVersion.objects.filter(name=name).exclude(kind=ModelVersion.Kind.EXTERNAL).first()
    if taken is not None:
        raise PredictionsError([f"model name {name!r} is taken by a model of kind {taken.kind}"])
    if len(data) > PREDICTIONS_MAX_BYTES:
        raise PredictionsError([f"{file_name} is over {PREDICTIONS_MAX_BYTES // 2**20} MiB"])
    panoramas = list(panorama_set.panoramas.order_by("pk").values_list("pk", "source_file"))
    rows = predictions_parse(data=data, file_name=file_name, set_name=panorama_set.name, panoramas=panoramas)
    if len(rows) < len(panoramas) and not partial:
        raise PredictionsError(
            [predictions_coverage_refusal(rows=rows, panoramas=panoramas, set_name=panorama_set.name)]
        )
    summary = (description or f"external predictions for {len(rows)} panoramas of {panorama_set.name}")[:300]
    with transaction.atomic():
        if default:
            ModelVersion.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
        version, _ = ModelVersion.objects.update_or_create(
            name=name,
            defaults={
                "kind": ModelVersion.Kind.EXTERNAL,
                "checkpoint_path": source[:500],
                "checkpoint_sha256": hashlib.sha256(data).hexdigest(),
                "description": summary,
            },
        )
        ExternalPrediction.objects.filter(model_version=version, panorama__panorama_set=panorama_set).delete()
        ExternalPrediction.objects.bulk_create(
            ExternalPrediction(
                model_version=version,
                panorama_id=row.panorama_id,
                latitude=row.latitude,
                longitude=row.longitude,
                top_cells=row.top_cells,
            )
            for row in rows
        )
        if default or not ModelVersion.objects.filter(is_default=True).exists():
            version.is_default = True
            version.save(update_fields=["is_default"])
        audit_log(
            user_id=user_id,
            obj=version,
            action=ADDITION,
            message=f"registered predictions for {len(rows)} of the {len(panoramas)} panoramas of "
            f"{panorama_set.name} from {source[:100]}",
        )
    return version


def predictions_coverage_refusal(*, rows: list[_Row], panoramas: list[tuple[int, str]], set_name: str) -> str:
    """What a file that predicts only part of a set leaves out, said plainly."""
    predicted = {row.panorama_id for row in rows}
    missing = [source for pk, source in panoramas if pk not in predicted]
    examples = ", ".join(shown(source) for source in missing[:3]) + (", ..." if len(missing) > 3 else "")
    return (
        f"the file predicts {len(rows)} of the {len(panoramas)} panoramas of set {set_name}; {len(missing)} "
        f"have no prediction ({examples}). Games against this model would play only the {len(rows)} it "
        "predicts: register it with partial coverage allowed (--partial, or the admin's checkbox) if that is "
        "what you want"
    )


def _records(*, data: bytes, suffix: str) -> Iterator[tuple[int, dict[str, object] | str]]:
    """(line number, the row's fields) for each row, or (line number, why it cannot be read); past
    PREDICTIONS_MAX_ROWS rows, one last (line number, why) and no more."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PredictionsError(["the file is not UTF-8 text"]) from None
    if suffix in (".jsonl", ".ndjson"):
        records = _jsonl_records(text)
    elif suffix == ".csv":
        records = _csv_records(text)
    else:
        raise PredictionsError([f"the file must be .csv or .jsonl, not {shown(suffix or 'without a suffix')}"])
    for count, (number, record) in enumerate(records):
        if count == PREDICTIONS_MAX_ROWS:
            yield number, f"more than {PREDICTIONS_MAX_ROWS} rows: the rest is not read"
            return
        yield number, record


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, object] | str]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json_parse(line)
        except ValueError as error:
            yield number, str(error)
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, object] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise PredictionsError([f"line 1: {csv_error_text(error)}"]) from None
    too_wide = csv_header_problem(header)
    if too_wide:
        raise PredictionsError([too_wide])
    missing = {"file", "latitude", "longitude"} - set(header or [])
    if missing:
        raise PredictionsError([f"the CSV header lacks {', '.join(sorted(missing))}"])
    for line, record in csv_records(reader):
        yield line, record if isinstance(record, str) else {**record}


def predictions_parse(*, data: bytes, file_name: str, set_name: str, panoramas: list[tuple[int, str]]) -> list[_Row]:
    """Every row of the predictions file `data` checked and resolved to one of `panoramas` ((pk, manifest file
    name) of the set `set_name`), or PredictionsError naming every bad row. Touches no database."""
    records = _records(data=data, suffix=PurePosixPath(file_name).suffix.lower())
    by_file = {_normalised(source): pk for pk, source in panoramas}
    names: dict[str, list[int]] = {}
    for pk, source in panoramas:
        names.setdefault(PurePosixPath(_normalised(source)).name, []).append(pk)
    problems: list[str] = []
    rows: list[_Row] = []
    first_line: dict[int, int] = {}
    for line, record in records:
        if isinstance(record, str):
            problems.append(f"line {line}: {record}")
            continue
        try:
            file = _file_name(record.get("file"))
            pk = _panorama_of(file, by_file=by_file, names=names, set_name=set_name)
            latitude, longitude = (
                _number(record.get("latitude"), "latitude"),
                _number(record.get("longitude"), "longitude"),
            )
            validate_coordinates(latitude, longitude)
            cells = _cells(record.get("top_cells"))
        except ValueError as error:
            problems.append(f"line {line}: {error}")
            continue
        if pk in first_line:
            problems.append(f"line {line}: duplicate: line {first_line[pk]} already predicts {shown(file)}")
            continue
        first_line[pk] = line
        rows.append(_Row(line=line, panorama_id=pk, latitude=latitude, longitude=longitude, top_cells=cells))
    if not rows and not problems:
        problems.append("the file holds no predictions")
    if problems:
        raise PredictionsError(problems)
    return rows


def _panorama_of(file: str, *, by_file: dict[str, int], names: dict[str, list[int]], set_name: str) -> int:
    """The panorama a row names: by the manifest's file name, else by a base name unique in the set."""
    key = _normalised(file)
    if key in by_file:
        return by_file[key]
    same_name = names.get(key, [])
    if not same_name:
        raise ValueError(f"unknown file {shown(file)}: no panorama of set {set_name} has that file")
    if len(same_name) > 1:
        raise ValueError(f"file {shown(file)} names {len(same_name)} panoramas of set {set_name}: give its folder too")
    return same_name[0]


def _file_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("file is missing" if value in (None, "") else f"file {shown(value)} is not a name")
    if len(value) > FILE_NAME_MAX_CHARS:
        raise ValueError(f"file is {len(value)} characters long, more than {FILE_NAME_MAX_CHARS}")
    return value


def _normalised(file: str) -> str:
    text = file.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _number(value: object, column: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"{column} is missing")
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"{column} is a {type(value).__name__}, not a number")
    # JSON's numbers arrived within NUMBER_MAX_CHARS (json_parse), so str() of one is short.
    return finite_float(str(value), column)


def _cells(value: object) -> list[dict[str, object]]:
    """`top_cells` (a JSON list, or its text in a CSV cell) as a round stores its model's cells."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json_parse(value)
        except ValueError as error:
            raise ValueError(f"top_cells: {error}") from None
    if not isinstance(value, list):
        raise ValueError("top_cells must be a list of [token, probability]")
    if len(value) > TOP_CELLS_MAX:
        raise ValueError(f"top_cells holds {len(value)} cells, more than {TOP_CELLS_MAX}")
    cells: list[tuple[str, float]] = []
    for item in value:
        if isinstance(item, dict):
            token, probability = item.get("token"), item.get("probability")
        elif isinstance(item, list) and len(item) == 2:
            token, probability = item
        else:
            raise ValueError(f"top_cells entry {shown(item)} is not [token, probability]")
        if not isinstance(token, str) or not 1 <= len(token.strip()) <= TOKEN_MAX_CHARS:
            raise ValueError(f"top_cells token {shown(token)} is not an S2 cell token")
        share = _number(probability, "probability")
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"probability {share} of cell {shown(token)} is not in [0, 1]")
        cells.append((token.strip().lower(), share))
    if sum(share for _, share in cells) > 1.0 + SUM_TOLERANCE:
        raise ValueError("the probabilities of top_cells sum to more than 1")
    cells.sort(key=lambda cell: -cell[1])
    stored: list[dict[str, object]] = []
    for token, share in cells:
        latitude, longitude = token_center(token)
        stored.append(
            {
                "token": token,
                "probability": share,
                "latitude": latitude,
                "longitude": longitude,
                "polygon": token_polygon(token, points_per_edge=POLYGON_POINTS_PER_EDGE),
            }
        )
    return stored
