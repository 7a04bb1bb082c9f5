"""Multi-view rounds: a place's views, each freshly encoded for the round, all of them in move mode and the first
alone in no-move and NMPZ; the model guesses from exactly the views served (the mean of their log-probabilities),
also inside a batch with single-view rounds."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from django.test import Client

from gameserver.games import tasks
from gameserver.games.model_guess import round_predict
from gameserver.games.models import Round, RoundView
from gameserver.games.rules import round_view_key
from gameserver.games.services import game_create, round_serve
from gameserver.inference import services as inference
from gameserver.objectstore import object_read
from gameserver.panoramas.models import PanoramaSet, PanoramaView
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import image_open, served_view_key, stored_image_key
from planet_engine.predict import Predictor

pytestmark = pytest.mark.django_db(transaction=True)

TURNS = (("front", 146.0), ("right", 236.0), ("back", 326.0), ("left", 56.0))


@pytest.fixture
def places(source, model_version) -> PanoramaSet:
    rows = [
        {
            "file": source.image(f"{place}_{view}.jpg", size=(160, 120), seed=10 * p + i),
            "latitude": lat,
            "longitude": lon,
            "place_id": place,
            "view": view,
            "heading": heading,
        }
        for p, (place, lat, lon) in enumerate((("a", 44.74, -1.107), ("b", -33.87, 151.2)))
        for i, (view, heading) in enumerate(TURNS)
    ]
    report = panorama_set_import(manifest_path=source.manifest(rows), name="places", licence="etalab-2.0")
    return PanoramaSet.objects.get(pk=report.set_id)


def post(client: Client, url: str, body: object) -> tuple[int, dict]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def served_bytes(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "Content-Disposition" not in response
    return response.getvalue()


def test_a_move_round_serves_every_view_freshly_encoded_and_the_model_sees_exactly_those(places, monkeypatch):
    groups: list[list[np.ndarray]] = []
    original = Predictor.predict_groups

    def recorded(self, images, **kw):
        groups.extend([[np.asarray(image) for image in group] for group in images])
        return original(self, images, **kw)

    monkeypatch.setattr(Predictor, "predict_groups", recorded)
    client = Client()
    _, game = post(client, "/api/games", {"set": "places", "rounds": 1, "mode": "move"})
    status, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    assert status == 200 and view["kind"] == "multiview"
    # Each view's compass point (a multiple of 45°), never its exact heading: 146° 236° 326° 56° were a key into
    # the set (71 of panoramax-multiview's 100 places had headings no other place shares).
    assert [(v["name"], v["heading"]) for v in view["views"]] == [
        ("front", 135.0),
        ("right", 225.0),
        ("back", 315.0),
        ("left", 45.0),
    ]
    assert [v["image_url"] for v in view["views"]] == [f"/api/rounds/{view['round']}/views/{n}" for n in range(4)]
    served = Round.objects.select_related("panorama").get(public_id=view["round"])
    assert served.panorama.public_id not in json.dumps(view)
    records = list(served.views.select_related("panorama_view").order_by("number"))
    assert [r.panorama_view.name for r in records] == [name for name, _ in TURNS]
    stored = {
        hashlib.sha256(object_read(key=stored_image_key(name=v.image_name))).hexdigest()
        for v in PanoramaView.objects.all()
    } | set(PanoramaView.objects.values_list("source_sha256", flat=True))
    for record, listed in zip(records, view["views"], strict=True):
        body = served_bytes(client, listed["image_url"])
        # This round's own encoding: recorded, and not the bytes of any stored or public image.
        assert hashlib.sha256(body).hexdigest() == record.view_sha256 not in stored
    # The round's image is its first view, and the model guessed from the four files players got.
    assert served_bytes(client, view["image_url"]) == served_bytes(client, view["views"][0]["image_url"])
    (pixels,) = groups
    assert len(pixels) == len(records) and all(
        np.array_equal(seen, np.asarray(image_open(key=served_view_key(name=r.view_name))))
        for seen, r in zip(pixels, records, strict=True)
    )
    served.refresh_from_db()
    model = inference.version_predictor(version=served.game.model_version)
    expected = model.predict_views([image_open(key=served_view_key(name=r.view_name)) for r in records])
    assert (served.model_latitude, served.model_longitude) == pytest.approx((expected.latitude, expected.longitude))
    assert served.model_top_cells[0]["token"] == expected.top_cells[0].token


@pytest.mark.parametrize("mode", ["no-move", "nmpz"])
def test_a_no_move_or_nmpz_round_serves_only_the_first_view(places, mode):
    client = Client()
    _, game = post(client, "/api/games", {"set": "places", "rounds": 1, "mode": mode})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    assert view["kind"] == "photo" and "views" not in view
    served = Round.objects.get(public_id=view["round"])
    (only,) = served.views.select_related("panorama_view")
    assert (only.number, only.panorama_view.index, only.view_sha256) == (0, 0, served.view_sha256)
    assert hashlib.sha256(served_bytes(client, view["image_url"])).hexdigest() == only.view_sha256
    assert client.get(f"/api/rounds/{view['round']}/views/1").status_code == 404
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.READY


def test_a_view_is_for_the_rounds_players_only_and_only_once_served(places):
    owner, outsider = Client(), Client()
    _, game = post(owner, "/api/games", {"set": "places", "rounds": 2})
    _, view = post(owner, f"/api/games/{game['game']}/rounds/1/start", {})
    assert outsider.get(f"/api/rounds/{view['round']}/views/0").status_code == 403
    assert owner.get(f"/api/rounds/{view['round']}/views/4").status_code == 404
    unstarted = Round.objects.get(game__public_id=game["game"], number=2)
    assert owner.get(f"/api/rounds/{unstarted.public_id}/views/0").status_code == 404
    # Serving again shows the same views: nothing is encoded twice.
    _, again = post(owner, f"/api/games/{game['game']}/rounds/1/start", {})
    assert again["views"] == view["views"] and RoundView.objects.count() == 4


def test_a_batch_mixing_single_and_multi_view_rounds_answers_each_from_its_own_views(
    places, synthetic_test, monkeypatch
):
    photos = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="photos").set_id)
    monkeypatch.setattr(tasks.predict_round, "delay", lambda round_id: None)  # nobody answers yet
    rounds = [
        round_serve(round=game_create(panorama_set=chosen, owner_key="p", rounds=1).rounds.get(), player_key="p")
        for chosen in (photos, places, photos, places)
    ]
    model = inference.version_predictor(version=rounds[0].game.model_version)
    calls: list[int] = []
    original = model.predict_groups

    def counted(groups, **kw):
        calls.append(len(groups))
        return original(groups, **kw)

    monkeypatch.setattr(model, "predict_groups", counted)

    round_predict(round_id=rounds[1].pk)

    assert calls == [4]  # one call for the whole batch
    for game_round in Round.objects.select_related("panorama"):
        files = [
            image_open(key=key)
            for key in (
                [served_view_key(name=v.view_name) for v in game_round.views.order_by("number")]
                or [round_view_key(round=game_round)]
            )
        ]
        alone = original([files], top_k=3)[0]
        assert len(files) == (4 if game_round.panorama.kind == "multiview" else 1)
        assert game_round.model_status == Round.ModelStatus.READY
        assert (game_round.model_latitude, game_round.model_longitude) == pytest.approx(
            (alone.latitude, alone.longitude)
        )
        assert np.isclose(game_round.model_top_cells[0]["probability"], alone.top_cells[0].probability)


def test_the_catalogue_says_which_sets_have_several_views_per_place(places):
    sets = {s["name"]: s for s in Client().get("/api/catalogue").json()["sets"]}
    assert (sets["places"]["panoramas"], sets["places"]["views"]) == (2, 8)
