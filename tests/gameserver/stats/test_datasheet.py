"""The datasheet beside an export has the sections of Gebru et al.'s "Datasheets for Datasets" and the players'
distribution; its Croissant (MLCommons) description validates with mlcroissant and reads the export back."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import mlcroissant as mlc
import pytest

from gameserver.stats.columns import COLUMNS, NAMES
from gameserver.stats.datasheet import player_distribution
from gameserver.stats.exports import export_write

VALUES = {"str": "x", "float": 1.5, "int": 2, "bool": True, "datetime": "2026-12-06T10:00:00+00:00"}
SECTIONS = (
    "## Motivation",
    "## Composition",
    "## Collection and recruitment",
    "## Consent",
    "## Preprocessing",
    "## Uses",
    "## Distribution",
    "## Maintenance",
    "## Columns",
)


def rows() -> list[dict[str, object]]:
    """Three players holding 5, 3 and 1 rows; every column filled with a value of its kind, but the last row
    a timeout with empty cells, as exports have them."""
    base = {c.name: VALUES[c.kind] for c in COLUMNS}
    result = [
        {**base, "player_id": player, "player_name": "Ada" if player == "a" else "", "round_id": f"r{i}"}
        for i, player in enumerate("aaaaabbbc")
    ]
    result[-1].update(human_km=None, human_latitude=None, time_limit_s=None, model_ready_at=None, exclusion="")
    return result


def test_the_datasheet_has_every_section_and_the_players_distribution(tmp_path: Path) -> None:
    sheet = export_write(rows=rows(), fmt="csv", out=tmp_path / "rounds.csv", filters={"tier": "verified"}).read_text()
    positions = [sheet.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "3 pseudonymous players; rounds per player min 1, median 3, max 5" in sheet
    assert "busiest player holds 55.6%" in sheet and "CC BY 4.0" in sheet
    assert "Earlier releases" in sheet and "delete" in sheet  # how deletion reaches earlier releases
    assert all(f"`{name}`" in sheet for name in NAMES)
    assert player_distribution(rows())["under_ten"] == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_croissant_description_validates_and_reads_the_export(
    fmt: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export_write(rows=rows(), fmt=fmt, out=tmp_path / f"rounds.{fmt}", filters={})
    path = tmp_path / f"rounds.{fmt}.croissant.json"
    description = json.loads(path.read_text())
    assert description["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    with caplog.at_level(logging.WARNING):
        dataset = mlc.Dataset(jsonld=path)  # raises mlc.ValidationError on an invalid description
    assert not [
        record
        for record in caplog.records
        if "croissant" in record.pathname.lower() or "validation" in record.getMessage().lower()
    ]
    assert [field.name for field in dataset.metadata.record_sets[0].fields] == list(NAMES)
    read = list(dataset.records(record_set="rounds"))
    assert len(read) == 9
    assert {record["rounds/player_id"] for record in read} == {b"a", b"b", b"c"}


def test_a_tampered_export_fails_its_croissant_checksum(tmp_path: Path) -> None:
    export_write(rows=rows(), fmt="jsonl", out=tmp_path / "rounds.jsonl", filters={})
    path = tmp_path / "rounds.jsonl.croissant.json"
    description = json.loads(path.read_text())
    description["recordSet"][0]["field"][0]["dataType"] = "sc:NoSuchType"
    path.write_text(json.dumps(description))
    with pytest.raises(mlc.ValidationError):
        mlc.Dataset(jsonld=path)
