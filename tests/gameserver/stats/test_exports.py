"""Exports round-trip to the same benchmark as the live numbers; roles; exclusions; 50 simulated rounds."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gameserver.games.models import Round
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.columns import NAMES
from gameserver.stats.exports import export_read, export_write
from gameserver.stats.selectors import Filters, benchmark_from_rows, round_rows
from gameserver.stats.simulation import destination, rounds_simulate
from planet_engine.geo import distance_km

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def played(synthetic_test: Path, model_version) -> PanoramaSet:
    """Two synthetic players of different skill, 12 rounds each, against the tiny model."""
    panorama_set = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="s").set_id)
    rounds_simulate(panorama_set=panorama_set, rounds=12, skills_km=[300.0, 5000.0], seed=1)
    return panorama_set


def test_destination_is_the_requested_distance_away():
    for bearing in (0, 45, 180, 300):
        latitude, longitude = destination(latitude=48.85, longitude=2.35, bearing_deg=bearing, km=1234.5)
        assert distance_km(48.85, 2.35, latitude, longitude) == pytest.approx(1234.5, rel=1e-6)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_export_reports_exactly_the_live_numbers(fmt, played, tmp_path):
    out = tmp_path / f"rounds.{fmt}"
    call_command("export_rounds", fmt=fmt, out=str(out))
    rows = export_read(path=out)
    assert len(rows) == 24 and list(rows[0]) == list(NAMES)
    live = benchmark_from_rows(rows=round_rows())
    assert live["rounds"] == 24
    assert benchmark_from_rows(rows=rows) == live
    sheet = (tmp_path / f"rounds.{fmt}.datasheet.md").read_text()
    assert all(f"`{name}`" in sheet for name in NAMES)


def test_benchmark_report_prints_the_tables_from_the_file_alone(played, tmp_path, capsys):
    out = tmp_path / "rounds.jsonl"
    call_command("export_rounds", fmt="jsonl", out=str(out))
    capsys.readouterr()
    call_command("benchmark_report", path=str(out), json_out=tmp_path / "tables.json")
    printed = capsys.readouterr().out
    assert "continent" in printed and "excluded: none of 24" in printed
    assert printed.index("verified tier") < printed.index("open tier")
    assert json.loads((tmp_path / "tables.json").read_text()) == json.loads(
        json.dumps({tier: benchmark_from_rows(rows=round_rows(), tier=tier) for tier in ("verified", "open")})
    )


def test_rounds_near_training_photos_or_without_a_model_guess_are_excluded_and_counted(played):
    Panorama.objects.filter(pk=Round.objects.earliest("pk").panorama_id).update(near_training_photo=True)
    rows = round_rows()
    flagged = sum(row["exclusion"] == "near_training_photo" for row in rows)
    assert flagged >= 1
    tables = benchmark_from_rows(rows=rows)
    assert tables["excluded"] == {"near_training_photo": flagged} and tables["rounds"] == 24 - flagged


def test_the_skilled_player_beats_the_weak_one_head_to_head(played):
    breakdowns = benchmark_from_rows(rows=round_rows())["breakdowns"]
    assert isinstance(breakdowns, dict)
    by_player = {g["group"]: g for g in breakdowns["player"]}
    medians = sorted(g["human_median_km"] for g in by_player.values())
    assert medians[0] < 1500 < medians[1]


def test_exports_are_for_researchers_and_admins(played):
    assert Client().get("/api/stats/export").status_code == 401
    player = Client()
    player.force_login(User.objects.create_user("player", password="pw"))
    assert player.get("/api/stats/export").status_code == 403
    researcher_user = User.objects.create_user("r", password="pw")
    researcher_user.groups.add(Group.objects.get_or_create(name="researchers")[0])
    researcher = Client()
    researcher.force_login(researcher_user)
    response = researcher.get("/api/stats/export?format=jsonl&set=s")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    name = "rounds_set-s_tier-verified"
    assert response["Content-Disposition"] == f'attachment; filename="{name}.zip"'  # the filters, in the name
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        assert sorted(bundle.namelist()) == [
            f"{name}.jsonl",
            f"{name}.jsonl.croissant.json",
            f"{name}.jsonl.datasheet.md",
        ]
        assert len(bundle.read(f"{name}.jsonl").decode().splitlines()) == 24
        assert "24" in bundle.read(f"{name}.jsonl.datasheet.md").decode()  # the command's datasheet, for the web
    assert researcher.get("/api/stats/export?format=xlsx").status_code == 400
    assert Client().get("/api/stats/benchmark?tier=open").json()["rounds"] == 24


def test_a_bad_export_file_is_refused_clearly(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("benchmark_report", path=str(tmp_path / "x.csv"))
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(CommandError, match="suffix"):
        call_command("benchmark_report", path=str(tmp_path / "x.txt"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("benchmark_report", path=str(tmp_path / "gone.csv"))


def test_fifty_simulated_rounds_give_planet_style_table(synthetic_test, model_version, capsys):
    panorama_set_import(manifest_path=synthetic_test, name="fifty")
    call_command("simulate_rounds", set_name="fifty", rounds=50, skills=[2000.0], seed=3)
    printed = capsys.readouterr().out
    for name in ("street", "city", "region", "country", "continent"):
        assert name in printed
    # One synthetic player, 50 rounds, a set of 20: the 30 rounds on panoramas already revealed to them are
    # excluded as seen before (and counted), as a human's would be.
    tables = benchmark_from_rows(rows=round_rows())
    assert tables["player_rounds"] == 50 and tables["rounds"] == 20 and isinstance(tables["excluded"], dict)
    assert tables["excluded"]["seen_before"] == 30


def test_the_benchmark_api_is_cached_until_a_guess_is_locked_or_a_panorama_flagged(played):
    client = Client()
    assert client.get("/api/stats/benchmark?tier=open").json()["rounds"] == 24
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/stats/benchmark?tier=open").json()["rounds"] == 24
    assert len(queries) <= 4  # the cache key's counts and sets and the open rounds' count, not the 24 rows
    flagged = Round.objects.earliest("pk").panorama_id
    Panorama.objects.filter(pk=flagged).update(near_training_photo=True)
    tables = client.get("/api/stats/benchmark?tier=open").json()
    assert tables["rounds"] < 24 and tables["excluded"]["near_training_photo"] == 24 - tables["rounds"]
    rounds_simulate(panorama_set=played, rounds=3, skills_km=[100.0], seed=2)
    assert client.get("/api/stats/benchmark?tier=open").json()["player_rounds"] == 27


def test_rows_can_be_limited_to_some_games(played):
    game_ids = sorted({str(row["game_id"]) for row in round_rows()})
    assert len(game_ids) == 2
    rows = round_rows(filters=Filters(games=(game_ids[0],)))
    assert len(rows) == 12 and {row["game_id"] for row in rows} == {game_ids[0]}


def test_the_live_tables_anchor_the_default_model(played):
    ratings = Client().get("/api/stats/benchmark?tier=open").json()["ratings"]
    anchored = [entry for entry in ratings if entry.get("anchor")]
    assert [(entry["name"], entry["kind"], entry["rating"]) for entry in anchored] == [("tiny", "model", 1500.0)]


def test_page_api_and_report_share_one_anchor_recorded_in_the_export(played, tmp_path):
    # Relabel two thirds of the rounds as another model's: the default model ("tiny") is no longer the most
    # played, and the report read from the file must still anchor it, as the page does.
    rows = round_rows()
    assert {row["rating_anchor"] for row in rows} == {"tiny"}
    for row in rows[:16]:
        row["model_name"] = "other"
    export_write(rows=rows, fmt="csv", out=tmp_path / "rounds.csv", filters={})
    call_command("benchmark_report", path=str(tmp_path / "rounds.csv"), json_out=tmp_path / "tables.json", tier="open")
    report = json.loads((tmp_path / "tables.json").read_text())["ratings_info"]
    live: dict[str, Any] = benchmark_from_rows(rows=rows)
    assert report["anchor"] == live["ratings_info"]["anchor"] == "tiny"
    assert "default model" in report["anchor_rule"]
    api = Client().get("/api/stats/benchmark?tier=open").json()["ratings_info"]
    assert api["anchor"] == "tiny" and api["anchor_rule"] == report["anchor_rule"]


def test_a_filter_that_names_nothing_is_refused_clearly(played):
    """A mistyped filter answers 400 and says which one, not empty tables that read as "no rounds"."""
    client = Client()
    for query, named in (
        ("set=nope", "set"),
        ("model=nope", "model"),
        ("mode=zzz", "mode"),
        ("suspicious=zz", "suspicious"),
        ("tier=zz", "tier"),
    ):
        response = client.get(f"/api/stats/benchmark?tier=open&{query}")
        assert response.status_code == 400 and named in response.json()["error"], (query, response.content)
    researcher = Client()
    researcher.force_login(User.objects.create_superuser("admin", password="pw"))
    assert researcher.get("/api/stats/export?format=csv&mode=zzz").status_code == 400
    # What exists is fine, with or without rounds behind it.
    for query in ("set=s", "model=tiny", "mode=nmpz", "suspicious=include", "suspicious="):
        assert client.get(f"/api/stats/benchmark?tier=open&{query}").status_code == 200, query
