"""External opponents: a model trained elsewhere (GeoCLIP, PIGEON) registered by its predictions for a set,
refused whole when any row is bad, and played like any other model on the panoramas it has predictions for."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
import s2sphere
from django.core.management import CommandError, call_command
from django.test import Client

from gameserver.games import model_guess
from gameserver.games.errors import GameError
from gameserver.games.guessing import guess_submit
from gameserver.games.models import Round
from gameserver.games.services import game_create, round_serve
from gameserver.inference.models import ExternalPrediction, ModelVersion
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from planet_engine.geo import distance_km

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def panorama_set(synthetic_test: Path) -> PanoramaSet:
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="synthetic").set_id)


def token(latitude: float, longitude: float, level: int = 6) -> str:
    return s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(latitude, longitude)).parent(level).to_token()


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "latitude", "longitude", "top_cells"], restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def good_rows(panoramas: list[Panorama]) -> list[dict[str, object]]:
    """A prediction 1 degree north of each truth, with two cells."""
    return [
        {
            "file": p.source_file,
            "latitude": p.latitude + 1.0,
            "longitude": p.longitude,
            "top_cells": json.dumps([[token(p.latitude + 1.0, p.longitude), 0.6], [token(0.0, 0.0), 0.3]]),
        }
        for p in panoramas
    ]


def test_registering_predictions_stores_one_row_per_panorama(panorama_set, tmp_path, capsys):
    panoramas = list(panorama_set.panoramas.order_by("pk")[:10])
    path = write_csv(tmp_path / "geoclip.csv", good_rows(panoramas))
    call_command("register_predictions", name="geoclip", set="synthetic", file=str(path), partial=True)
    version = ModelVersion.objects.get(name="geoclip")
    assert version.kind == ModelVersion.Kind.EXTERNAL and version.view == "original"
    assert version.checkpoint_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "10 panoramas" in capsys.readouterr().out
    stored = ExternalPrediction.objects.get(model_version=version, panorama=panoramas[0])
    assert (stored.latitude, stored.longitude) == pytest.approx((panoramas[0].latitude + 1, panoramas[0].longitude))
    assert [c["probability"] for c in stored.top_cells] == [0.6, 0.3] and len(stored.top_cells[0]["polygon"]) >= 4
    models = {m["name"]: m for m in Client().get("/api/catalogue").json()["models"]}
    assert (models["geoclip"]["kind"], models["geoclip"]["view"]) == ("external", "original")


def test_jsonl_predictions_may_name_files_without_their_folder(panorama_set, tmp_path):
    panorama = panorama_set.panoramas.order_by("pk").first()
    path = tmp_path / "pigeon.jsonl"
    path.write_text(
        json.dumps(
            {
                "file": Path(panorama.source_file).name,
                "latitude": 1.5,
                "longitude": 2.5,
                "top_cells": [{"token": token(1.5, 2.5), "probability": 1.0}],
            }
        )
        + "\n"
    )
    call_command("register_predictions", name="pigeon", set="synthetic", file=str(path), partial=True)
    assert ExternalPrediction.objects.get(panorama=panorama).latitude == 1.5


def test_a_file_predicting_part_of_the_set_is_refused_saying_how_much_unless_partial_is_allowed(panorama_set, tmp_path):
    panoramas = list(panorama_set.panoramas.order_by("pk"))
    path = write_csv(tmp_path / "geoclip.csv", good_rows(panoramas[:12]))
    with pytest.raises(CommandError) as refused:
        call_command("register_predictions", name="geoclip", set="synthetic", file=str(path))
    message = str(refused.value)
    assert f"predicts 12 of the {len(panoramas)} panoramas of set synthetic" in message
    assert f"{len(panoramas) - 12} have no prediction" in message and panoramas[12].source_file in message
    assert "--partial" in message and not ModelVersion.objects.exists()
    out = io.StringIO()
    call_command("register_predictions", name="geoclip", set="synthetic", file=str(path), partial=True, stdout=out)
    assert f"12 panoramas of synthetic predicted (of {len(panoramas)})" in out.getvalue()
    whole = write_csv(tmp_path / "whole.csv", good_rows(panoramas))
    call_command("register_predictions", name="whole", set="synthetic", file=str(whole), stdout=io.StringIO())


def test_a_bad_predictions_file_is_refused_whole_naming_every_bad_row(panorama_set, tmp_path):
    panoramas = list(panorama_set.panoramas.order_by("pk")[:6])
    rows = good_rows(panoramas)
    rows[1]["file"] = "images/not-in-the-set.jpg"
    rows[2]["latitude"] = 91
    rows[3]["top_cells"] = json.dumps([[token(0, 0), 1.5]])
    rows[4]["top_cells"] = json.dumps([["not-a-cell", 0.5]])
    rows.append(dict(rows[0]))  # the same panorama twice
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError) as refused:
        call_command("register_predictions", name="geoclip", set="synthetic", file=str(path))
    message = str(refused.value)
    assert "nothing registered" in message and "5 problem(s)" in message
    assert "line 3: unknown file 'images/not-in-the-set.jpg'" in message
    assert "line 4: latitude 91" in message
    assert "line 5: probability 1.5" in message and "not in [0, 1]" in message
    assert "line 6: 'not-a-cell' is not an S2 cell token" in message
    assert "line 8: duplicate" in message and "line 2" in message
    assert not ModelVersion.objects.exists() and not ExternalPrediction.objects.exists()


def test_a_name_taken_by_a_checkpoint_model_is_refused(panorama_set, model_version, tmp_path):
    path = write_csv(tmp_path / "p.csv", good_rows(list(panorama_set.panoramas.all()[:1])))
    with pytest.raises(CommandError, match="kind planet"):
        call_command("register_predictions", name=model_version.name, set="synthetic", file=str(path))


def test_a_game_against_external_predictions_plays_a_whole_round(panorama_set, tmp_path, monkeypatch):
    predicted = list(panorama_set.panoramas.order_by("pk")[:3])
    call_command(
        "register_predictions",
        name="geoclip",
        set="synthetic",
        partial=True,
        file=str(write_csv(tmp_path / "p.csv", good_rows(predicted))),
    )
    version = ModelVersion.objects.get(name="geoclip")
    with pytest.raises(GameError, match="geoclip has predictions for 3 panoramas"):
        game_create(panorama_set=panorama_set, owner_key="p", rounds=4, model_version=version)
    events: list[str] = []
    monkeypatch.setattr(model_guess, "game_event_send_on_commit", lambda **kw: events.append(kw["event"]))
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=3, model_version=version)
    assert {r.panorama_id for r in game.rounds.all()} == {p.pk for p in predicted}, "only predicted panoramas"
    served = round_serve(round=game.rounds.get(number=1), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.READY and served.model_view == "original"
    assert events == ["model_ready"]
    truth = (served.panorama.latitude, served.panorama.longitude)
    assert (served.model_latitude, served.model_longitude) == pytest.approx((truth[0] + 1.0, truth[1]))
    assert served.model_checkpoint_sha256 == version.checkpoint_sha256
    assert served.model_top_cells[0]["probability"] == 0.6
    result = guess_submit(round=served, player_key="p", latitude=truth[0], longitude=truth[1] + 1.0)
    assert result.guess.model_committed_first and isinstance(result.shown["model"], dict)
    assert result.shown["model"]["view"] == "original"
    assert result.guess.model_km == pytest.approx(distance_km(truth[0] + 1.0, truth[1], *truth))


def test_a_round_on_a_panorama_without_a_prediction_is_unavailable(panorama_set, tmp_path):
    predicted = list(panorama_set.panoramas.order_by("pk")[:2])
    call_command(
        "register_predictions",
        name="geoclip",
        set="synthetic",
        partial=True,
        file=str(write_csv(tmp_path / "p.csv", good_rows(predicted))),
    )
    game = game_create(
        panorama_set=panorama_set, owner_key="p", rounds=1, model_version=ModelVersion.objects.get(name="geoclip")
    )
    ExternalPrediction.objects.filter(panorama=game.rounds.get().panorama).delete()  # withdrawn since
    served = round_serve(round=game.rounds.get(), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.UNAVAILABLE and "no prediction" in served.model_error
    result = guess_submit(round=served, player_key="p", latitude=0.0, longitude=0.0)
    assert not result.guess.model_committed_first  # excluded like any unanswered round


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_exports_and_tables_say_which_view_each_model_saw(fmt, panorama_set, model_version, tmp_path):
    from gameserver.stats.exports import export_read
    from gameserver.stats.render import render_text
    from gameserver.stats.selectors import benchmark_from_rows

    call_command(
        "register_predictions",
        name="geoclip",
        set="synthetic",
        file=str(write_csv(tmp_path / "p.csv", good_rows(list(panorama_set.panoramas.all())))),
    )
    for version in (model_version, ModelVersion.objects.get(name="geoclip")):
        game = game_create(panorama_set=panorama_set, owner_key="p", rounds=2, model_version=version)
        for game_round in game.rounds.all():
            served = round_serve(round=game_round, player_key="p")
            guess_submit(round=served, player_key="p", latitude=10.0, longitude=10.0)
    out = tmp_path / f"rounds.{fmt}"
    call_command("export_rounds", fmt=fmt, out=str(out))
    rows = export_read(path=out)
    assert sorted((row["model_name"], row["model_view"]) for row in rows) == [
        ("geoclip", "original"),
        ("geoclip", "original"),
        ("tiny", "served"),
        ("tiny", "served"),
    ]
    assert "`model_view`" in (tmp_path / f"rounds.{fmt}.datasheet.md").read_text()
    tables = benchmark_from_rows(rows=rows)
    assert tables["model_views"] == {"geoclip": {"original": 2}, "tiny": {"served": 2}}
    text = render_text(tables=tables)
    assert "geoclip guessed on: original (2)" in text and "tiny guessed on: served (2)" in text


# Files that made Python's parsers raise past their limits (a 500 on the admin page and in the command alike).
NESTED = "[" * 30_000 + "]" * 30_000
HOSTILE_PREDICTIONS = {
    "csv field over 128 KiB": (
        "p.csv",
        lambda f: f'file,latitude,longitude,top_cells\n{f},1,2,"{"x" * 200_000}"\n',
        "line 2: malformed CSV: a field is longer than 131072 characters",
    ),
    "csv top_cells nested 30,000 deep": (
        "p.csv",
        lambda f: f"file,latitude,longitude,top_cells\n{f},1,2,{NESTED}\n",
        "line 2: top_cells: JSON nested 30000 deep, deeper than 16",
    ),
    "jsonl top_cells nested 30,000 deep": (
        "p.jsonl",
        lambda f: f'{{"file": "{f}", "latitude": 1, "longitude": 2, "top_cells": {NESTED}}}\n',
        "line 1: JSON nested 30001 deep, deeper than 16",
    ),
    "jsonl integer of 5,000 digits": (
        "p.jsonl",
        lambda f: f'{{"file": "{f}", "latitude": {"1" * 5000}, "longitude": 2}}\n',
        "line 1: a number 5000 digits long, more than 64",
    ),
    "csv latitude of 100,000 digits": (
        "p.csv",
        lambda f: f"file,latitude,longitude\n{f},{'1' * 100_000},2\n",
        "line 2: latitude is 100000 characters long, more than 64",
    ),
}


@pytest.mark.parametrize("file_name, text, problem", HOSTILE_PREDICTIONS.values(), ids=HOSTILE_PREDICTIONS.keys())
def test_a_predictions_file_past_a_parser_bound_is_refused_naming_its_row(
    panorama_set, tmp_path, file_name, text, problem
):
    path = tmp_path / file_name
    path.write_text(text(panorama_set.panoramas.order_by("pk").first().source_file))
    with pytest.raises(CommandError) as refused:
        call_command("register_predictions", name="geoclip", set="synthetic", file=str(path))
    message = str(refused.value)
    assert problem in message and len(message) < 300  # the value itself is never echoed whole
    assert not ModelVersion.objects.exists()


def test_an_uploaded_predictions_file_past_a_parser_bound_is_a_form_error_naming_its_row(panorama_set, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file_name, text, problem = HOSTILE_PREDICTIONS["jsonl integer of 5,000 digits"]
    upload = SimpleUploadedFile(file_name, text(panorama_set.panoramas.first().source_file).encode())
    response = admin_client.post(
        "/admin/inference/modelversion/predictions/",
        {"name": "geoclip", "panorama_set": panorama_set.pk, "predictions": upload},
    )
    assert response.status_code == 400 and problem in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_an_uploaded_predictions_file_over_the_size_limit_is_refused_unread(panorama_set, admin_client, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gameserver.inference import admin

    monkeypatch.setattr(admin, "PREDICTIONS_MAX_BYTES", 2**20)
    upload = SimpleUploadedFile("p.csv", b"\xff" * (2**20 + 1))  # read and parsed, it would be "not UTF-8 text"
    response = admin_client.post(
        "/admin/inference/modelversion/predictions/",
        {"name": "geoclip", "panorama_set": panorama_set.pk, "predictions": upload},
    )
    assert response.status_code == 400 and "over 1 MiB" in response.content.decode()
    assert "UTF-8" not in response.content.decode() and not ModelVersion.objects.exists()
