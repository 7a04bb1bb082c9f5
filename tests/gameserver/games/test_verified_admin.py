"""The verified tier in the admin: a set's page (its places and prior on a map, its spread, provenance and exposure
budget), each panorama's rounds, exposures and flags with retire and restore (in the admin's history), and the
players the anomaly model flags."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone

from gameserver.games.models import Round
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, url: str, body: object) -> dict:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_a_sets_page_shows_its_places_prior_and_spread_and_staff_change_its_provenance(
    synthetic_test, model_version, staff
):
    panorama_set = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="s").set_id)
    assert panorama_set.provenance == "public" and panorama_set.spread_km is not None and panorama_set.spread_km > 0
    page = staff.get(f"/admin/panoramas/panoramaset/{panorama_set.pk}/change/").content.decode()
    assert page.count("<circle") == panorama_set.panoramas.count() and "set prior" in page.lower() and " km" in page
    response = staff.post(
        f"/admin/panoramas/panoramaset/{panorama_set.pk}/change/", {"provenance": "private", "exposure_budget": "3"}
    )
    assert response.status_code == 302
    panorama_set.refresh_from_db()
    assert (panorama_set.provenance, panorama_set.exposure_budget, panorama_set.name) == ("private", 3, "s")


def test_staff_retire_a_panorama_it_leaves_new_games_and_the_history_records_it(synthetic_test, model_version, staff):
    panorama_set_import(manifest_path=synthetic_test, name="s")
    retired = list(Panorama.objects.order_by("pk")[:15])
    listing = staff.get("/admin/panoramas/panorama/")
    assert listing.status_code == 200 and "answer shown to" in listing.content.decode().lower()
    response = staff.post(
        "/admin/panoramas/panorama/", {"action": "retire", "_selected_action": [p.pk for p in retired]}
    )
    assert response.status_code == 302
    assert Panorama.objects.filter(retired=True).count() == 15
    assert LogEntry.objects.filter(change_message="retired").count() == 15
    player = Client()
    game = post(player, "/api/games", {"set": "s", "rounds": 5})["game"]
    drawn = set(Round.objects.filter(game__public_id=game).values_list("panorama_id", flat=True))
    assert drawn and not drawn & {p.pk for p in retired}
    assert (
        player.post(
            "/api/games", data=json.dumps({"set": "s", "rounds": 6}), content_type="application/json"
        ).status_code
        == 400
    )  # five are left in play
    # A panorama's own fields stay the import's.
    assert staff.post(f"/admin/panoramas/panorama/{retired[0].pk}/change/", {"latitude": "1"}).status_code == 403


def test_staff_see_the_players_the_anomaly_model_flags(synthetic_test, model_version, staff, settings):
    settings.RATE_LIMITS = {scope: "100000/60" for scope in settings.RATE_LIMITS}
    panorama_set_import(manifest_path=synthetic_test, name="s")
    idle = Client()
    game = post(idle, "/api/games", {"set": "s", "rounds": 12, "name": "Idle"})["game"]
    for number in range(1, 13):
        view = post(idle, f"/api/games/{game}/rounds/{number}/start", {})
        Round.objects.filter(public_id=view["round"]).update(served_at=timezone.now() - timedelta(seconds=1))
        post(idle, f"/api/rounds/{view['round']}/guess", {"timed_out": True})
    page = staff.get("/admin/games/flaggedplayer/").content.decode()
    assert "no_effort" in page and "Idle" in page


def test_the_panorama_list_finds_a_country_by_its_name_as_by_its_code(source, tmp_storage, staff):
    source.manifest(
        [
            {"file": source.image("oslo.jpg", seed=1), "latitude": 59.91, "longitude": 10.75},
            {"file": source.image("paris.jpg", seed=2), "latitude": 48.85, "longitude": 2.35},
        ]
    )
    panorama_set_import(manifest_path=source.root / "manifest.csv", name="two")
    for term in ("Norway", "norwa"):  # longer than a random public id would hold by chance
        page = staff.get("/admin/panoramas/panorama/", {"q": term}).content.decode()
        assert page.count('class="field-country"') == 1 and ">NO<" in page, term


def test_a_panoramas_page_previews_its_photo_and_place_and_excludes_or_includes_it(source, tmp_storage, staff):
    source.manifest(
        [{"file": source.image("oslo.jpg", seed=1, size=(800, 600)), "latitude": 59.91, "longitude": 10.75}]
    )
    panorama_set_import(manifest_path=source.root / "manifest.csv", name="one")
    panorama = Panorama.objects.get()
    page = staff.get(f"/admin/panoramas/panorama/{panorama.pk}/change/").content.decode()
    thumbnail = f"/admin/panoramas/panorama/{panorama.pk}/thumbnail.jpg"
    assert thumbnail in page and "<circle" in page and "59.91000, 10.75000" in page
    assert thumbnail in staff.get("/admin/panoramas/panorama/").content.decode()  # the list shows it too
    image = staff.get(thumbnail)
    assert image["Content-Type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    assert Client().get(thumbnail).status_code == 302  # players are sent to the login page
    assert staff.post(f"/admin/panoramas/panorama/{panorama.pk}/exclude/").status_code == 302
    assert (
        Panorama.objects.get().retired
        and "Include it again" in staff.get(f"/admin/panoramas/panorama/{panorama.pk}/change/").content.decode()
    )
    assert staff.get(f"/admin/panoramas/panorama/{panorama.pk}/include/").status_code == 405  # a link changes nothing
    staff.post(f"/admin/panoramas/panorama/{panorama.pk}/include/")
    assert not Panorama.objects.get().retired
    assert list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True)) == [
        "retired",
        "returned to play",
    ]
