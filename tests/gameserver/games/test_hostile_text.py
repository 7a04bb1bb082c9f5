"""Text no database column can hold: a NUL character (PostgreSQL refuses it with a DataError) or a lone
surrogate (not encodable as UTF-8). Wherever a request carries one (path, query, cookie, form, JSON body) it is
refused with a 400 before any query: JSON under /api/. Player names lose control and invisible formatting
characters (bidi overrides and isolates, zero-width characters), so no name can reorder or hide the text
around it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gameserver.games.models import Game, Player
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db


def assert_json_400(response) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/json" and response.json()["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/games/a%00b",
        "/api/games/a%00b/rounds/1/start",
        "/api/rounds/a%00b",
        "/api/rounds/a%00b/image",
        "/api/stats/benchmark?set=%00",
        "/api/stats/benchmark?mode=x%00y",
        "/api/catalogue?%00=1",
    ],
)
def test_a_nul_in_an_api_path_or_query_is_a_json_400(url: str) -> None:
    assert_json_400(Client().get(url))


@pytest.mark.parametrize(
    "body",
    [
        {"set": "a\u0000"},
        {"set": "s", "name": "x\u0000y"},
        {"set": "s", "model": "\u0000"},
        {"set": "\ud800"},
        {"set": "s", "name": "\udfff"},
        {"set": "s", "nested": [{"deep\u0000": 1}]},
    ],
    ids=["set", "name", "model", "surrogate set", "surrogate name", "nested key"],
)
def test_a_nul_or_lone_surrogate_in_a_json_body_is_a_json_400_and_nothing_is_written(body: dict) -> None:
    client = Client()
    client.get("/api/session")
    assert_json_400(client.post("/api/games", data=json.dumps(body), content_type="application/json"))
    assert not Game.objects.exists()


def test_a_nul_in_a_guess_body_is_a_json_400() -> None:
    body = json.dumps({"latitude": 1, "longitude": 2, "note\u0000": "x"})
    assert_json_400(Client().post("/api/rounds/nope/guess", data=body, content_type="application/json"))


def test_a_nul_in_the_session_cookie_is_a_400() -> None:
    client = Client()
    client.cookies["sessionid"] = "abcdefghijkl\u0000mnop"
    assert_json_400(client.get("/api/session"))


def test_a_nul_in_a_page_path_is_a_plain_400() -> None:
    response = Client().get("/play/a%00b")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_nul_in_a_form_is_a_400(content_type: str) -> None:
    User.objects.create_user("admin", password="pw", is_staff=True)
    fields = {"username": "admin\u0000", "password": "pw"}
    client = Client()
    if content_type == "multipart/form-data":
        response = client.post("/admin/login/", fields)
    else:
        response = client.post("/admin/login/", "username=admin%00&password=pw", content_type=content_type)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.fixture
def a_set(synthetic_test: Path, model_version) -> str:
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    return "synthetic"


def test_control_and_bidi_characters_are_dropped_from_player_names(a_set: str) -> None:
    owner = Client()
    name = "\u202eev\u200bil\x07\u2066 \u200e\u200fname\u2069\u202a\ufeff\x1b"
    response = owner.post("/api/games", data=json.dumps({"set": a_set, "name": name}), content_type="application/json")
    assert response.status_code == 201
    guest = Client()
    joined = guest.post(
        f"/api/games/{response.json()['game']}/join",
        data=json.dumps({"name": "\u202dpl\u00adayer\u202c\ttwo\r\n"}),
        content_type="application/json",
    )
    assert joined.status_code == 200
    assert sorted(Player.objects.values_list("name", flat=True)) == ["evil name", "player two"]


def test_a_name_of_only_invisible_characters_becomes_a_guest_name(a_set: str) -> None:
    response = Client().post(
        "/api/games", data=json.dumps({"set": a_set, "name": "\u202e\u200b\x07"}), content_type="application/json"
    )
    assert response.status_code == 201
    assert Player.objects.get().name.startswith("guest-")


def test_a_guest_name_says_nothing_of_the_session_key(a_set: str) -> None:
    """The default name was "guest-" and the first four characters of the player's session key, shown to the room."""
    client = Client()
    created = client.post("/api/games", data=json.dumps({"set": a_set}), content_type="application/json")
    assert created.status_code == 201
    name, key = Player.objects.values_list("name", "player_key").get()
    session = key.split(":", 1)[1]
    assert re.fullmatch(r"guest-[0-9a-f]{4}", name) and session[:4] not in name, (name, session)
