"""Games, rounds and players in the admin: found by player or set; staff rename a player or hide their display name
(every seat they hold, where rooms and tables show it), each change in the admin's history."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from gameserver.games.models import Player
from gameserver.games.moderation import player_name_hidden
from gameserver.games.services import game_create, game_join
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def games(synthetic_test, model_version) -> None:
    panorama_set = PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="s").set_id)
    for owner in ("guest:a", "guest:b"):
        game = game_create(panorama_set=panorama_set, owner_key=owner, owner_name="Rude Name", rounds=2)
    game_join(game=game, player_key="guest:c", browser_key="", name="Polite")


def test_staff_find_games_by_player_or_set(games, staff):
    by_player = staff.get("/admin/games/game/?q=Polite").content.decode()
    assert by_player.count('class="field-public_id"') == 1
    by_set = staff.get("/admin/games/game/?q=s").content.decode()
    assert by_set.count('class="field-public_id"') == 2
    game_page = staff.get(f"/admin/games/game/{Player.objects.get(name='Polite').game_id}/change/").content.decode()
    assert "Polite" in game_page and "Rude Name" in game_page  # its seats and rounds


def test_staff_rename_a_player_in_every_seat_with_a_history_entry(games, staff):
    seat = Player.objects.filter(player_key="guest:a").get()
    response = staff.post(f"/admin/games/player/{seat.pk}/change/", {"name": "  Renamed  "})
    assert response.status_code == 302
    assert list(Player.objects.filter(player_key="guest:a").values_list("name", flat=True)) == ["Renamed"]
    assert Player.objects.get(player_key="guest:b").name == "Rude Name"  # another player with the same name
    entry = LogEntry.objects.get()
    assert entry.is_change() and "'Rude Name' -> 'Renamed'" in entry.change_message
    assert staff.post(f"/admin/games/player/{seat.pk}/change/", {"name": "x" * 41}).status_code == 200  # refused
    assert Player.objects.get(player_key="guest:a").name == "Renamed"


def test_staff_hide_names_and_the_room_shows_the_hidden_name(games, staff):
    hidden = Player.objects.filter(player_key="guest:b").get()
    staff.post("/admin/games/player/", {"action": "hide_names", "_selected_action": [hidden.pk]})
    assert Player.objects.get(pk=hidden.pk).name == player_name_hidden("guest:b") != "Rude Name"
    assert "Rude Name" not in player_name_hidden("guest:b") and "guest:b" not in player_name_hidden("guest:b")
    assert "hidden: display name 'Rude Name'" in LogEntry.objects.get().change_message
    listing = staff.get("/admin/games/player/?q=s").content.decode()
    assert player_name_hidden("guest:b") in listing
