"""A set's life cycle: draft (staff only), published, retired (kept for history); publish and retire as admin
actions asking for confirmation, each in the admin's history; delete only a set no counted round used, its
objects removed from the store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone

from gameserver.games.models import Game, Guess, Round
from gameserver.games.rules import guess_exclusion
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)

SETS = "/admin/panoramas/panoramaset/"


def post(client: Client, url: str, body: object) -> dict:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def lobby(client: Client) -> list[str]:
    return [s["name"] for s in client.get("/api/catalogue").json()["sets"]]


def imported(manifest, name: str, status: str) -> PanoramaSet:
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=manifest, name=name, status=status).set_id)


def action(client: Client, name: str, panorama_set: PanoramaSet, *, confirm: bool):
    body = {"action": name, "_selected_action": [panorama_set.pk], **({"post": "yes"} if confirm else {})}
    return client.post(SETS, body)


def play_a_counted_round(set_name: str) -> Guess:
    player = Client()
    game = post(player, "/api/games", {"set": set_name, "rounds": 1})["game"]
    view = post(player, f"/api/games/{game}/rounds/1/start", {})
    Round.objects.filter(public_id=view["round"]).update(served_at=timezone.now() - timedelta(seconds=20))
    game_round = Round.objects.select_related("panorama").get(public_id=view["round"])
    post(
        player,
        f"/api/rounds/{view['round']}/guess",
        {"latitude": game_round.panorama.latitude + 3, "longitude": game_round.panorama.longitude},
    )
    guess = Guess.objects.select_related("round__panorama", "round__game").get(round=game_round)
    assert guess_exclusion(guess=guess, round=guess.round) == ""  # it counts
    return guess


def test_existing_sets_are_published_and_a_new_upload_starts_as_a_draft():
    """The migration's default for sets that were already in the lobby, and the model's for new ones."""
    field = PanoramaSet._meta.get_field("status")
    assert field.default == PanoramaSet.Status.DRAFT
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import AddField

    loader = MigrationLoader(None, ignore_no_migrations=True)
    added = [op for op in loader.get_migration("panoramas", "0004_set_status").operations if isinstance(op, AddField)]
    assert added[0].field.default == PanoramaSet.Status.PUBLISHED


def test_a_draft_is_seen_and_played_by_staff_only(synthetic_test, model_version, staff):
    imported(synthetic_test, "draft-set", PanoramaSet.Status.DRAFT)
    player = Client()
    assert "draft-set" not in lobby(player) and "draft-set" in lobby(staff)
    refused = player.post(
        "/api/games", data=json.dumps({"set": "draft-set", "rounds": 1}), content_type="application/json"
    )
    assert refused.status_code == 404
    post(staff, "/api/games", {"set": "draft-set", "rounds": 1})


def test_publish_asks_for_confirmation_then_puts_the_set_in_the_lobby_with_a_history_entry(
    synthetic_test, model_version, staff
):
    panorama_set = imported(synthetic_test, "new", PanoramaSet.Status.DRAFT)
    asked = action(staff, "publish", panorama_set, confirm=False)
    assert asked.status_code == 200 and "Yes, publish" in asked.content.decode()
    assert PanoramaSet.objects.get(pk=panorama_set.pk).status == "draft"  # nothing happened yet
    assert action(staff, "publish", panorama_set, confirm=True).status_code == 302
    assert PanoramaSet.objects.get(pk=panorama_set.pk).status == "published"
    assert "new" in lobby(Client())
    entry = LogEntry.objects.get(object_id=str(panorama_set.pk))
    assert entry.is_change() and "published" in entry.change_message and entry.user.username == "root"


def test_a_retired_set_leaves_the_lobby_and_new_games_and_keeps_its_rounds(synthetic_test, model_version, staff):
    panorama_set = imported(synthetic_test, "old", PanoramaSet.Status.PUBLISHED)
    guess = play_a_counted_round("old")
    action(staff, "retire", panorama_set, confirm=True)
    assert PanoramaSet.objects.get(pk=panorama_set.pk).status == "retired"
    assert "old" not in lobby(Client()) and "old" not in lobby(staff)
    refused = Client().post("/api/games", data=json.dumps({"set": "old", "rounds": 1}), content_type="application/json")
    assert refused.status_code == 404
    assert Guess.objects.filter(pk=guess.pk).exists()  # the history stays
    assert "retired" in LogEntry.objects.get(object_id=str(panorama_set.pk)).change_message


def test_deleting_a_set_no_counted_round_used_removes_it_and_its_files(
    synthetic_test, model_version, staff, stored_files
):
    panorama_set = imported(synthetic_test, "mistake", PanoramaSet.Status.DRAFT)
    images = len(stored_files())
    post(staff, "/api/games", {"set": "mistake", "rounds": 2})  # a game nobody guessed in: no counted round
    page = staff.get(f"{SETS}{panorama_set.pk}/delete/")
    assert page.status_code == 200 and "Yes, I’m sure" in page.content.decode()
    assert staff.post(f"{SETS}{panorama_set.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not PanoramaSet.objects.filter(pk=panorama_set.pk).exists() and not Game.objects.exists()
    assert len(stored_files()) < images
    assert not [path for path in stored_files() if path.suffix == ".jpg" and "checkpoints" not in path.parts]
    entry = LogEntry.objects.get(object_id=str(panorama_set.pk))
    assert entry.is_deletion() and "deleted with" in entry.change_message


def test_deleting_a_set_a_counted_round_used_is_refused_with_the_reason(synthetic_test, model_version, staff):
    panorama_set = imported(synthetic_test, "used", PanoramaSet.Status.PUBLISHED)
    play_a_counted_round("used")
    page = staff.get(f"{SETS}{panorama_set.pk}/delete/").content.decode()
    assert "counted round" in page and "retire it instead" in page
    staff.post(f"{SETS}{panorama_set.pk}/delete/", {"post": "yes"})
    assert PanoramaSet.objects.filter(pk=panorama_set.pk).exists()


def test_a_draft_never_becomes_the_daily_and_publishing_it_mid_day_leaves_the_day_alone(
    synthetic_test, model_version, staff, settings
):
    from gameserver.games import daily

    settings.PLANET_DAILY_SET = ""
    imported(synthetic_test, "s", PanoramaSet.Status.PUBLISHED)
    draft = imported(synthetic_test, "a-double-click", PanoramaSet.Status.DRAFT)  # sorts first
    page = staff.get(SETS).content.decode()
    assert "today's set is <strong>s (no try yet today" in page and "PLANET_DAILY_SET: unset" in page
    first = daily.daily_game(player_key="user:1", name="Ada")
    assert first.panorama_set.name == "s"
    action(staff, "publish", draft, confirm=True)
    assert daily.daily_game(player_key="user:2", name="Bob").panorama_set.name == "s"
    assert "s (pinned by today" in staff.get(SETS).content.decode()
    settings.PLANET_DAILY_SET = "s"
    assert "PLANET_DAILY_SET: s." in staff.get(SETS).content.decode()
