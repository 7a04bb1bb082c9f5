"""The lobby and game pages are shells over the JSON API: they render, set the CSRF cookie, load only
local scripts, and never carry a round's location."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from gameserver.games.models import Round
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db


def test_the_lobby_sets_the_csrf_cookie_and_loads_its_module():
    response = Client().get("/")
    assert response.status_code == 200 and "csrftoken" in response.cookies
    html = response.content.decode()
    assert '<script type="module" src="/static/arena/lobby.js">' in html
    assert finders.find("arena/lobby.js") and finders.find("arena/api.js")


def test_an_unknown_game_page_is_not_found():
    response = Client().get("/play/nope")
    assert response.status_code == 404
    # The game's own page, pointing back to the lobby: not Django's bare (or debug) one.
    html = response.content.decode()
    assert "Nothing here" in html and 'href="/"' in html and "site-header" in html


def test_the_game_page_loads_only_local_scripts_and_no_location(synthetic_test: Path, model_version):
    panorama_set_import(manifest_path=synthetic_test, name="s")
    client = Client()
    game = client.post("/api/games", data={"set": "s", "rounds": 1}, content_type="application/json").json()
    client.post(f"/api/games/{game['game']}/rounds/1/start", data={}, content_type="application/json")
    html = client.get(f"/play/{game['game']}").content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline scripts"
    assert all(finders.find(source.removeprefix("/static/")) for source in sources)
    truth = Round.objects.get().panorama
    for value in (truth.latitude, truth.longitude):
        assert f"{value:.2f}" not in html


def test_the_admin_wears_the_game_colours(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "PlaNet Arena admin" in html and "/static/arena/admin.css" in html
    assert finders.find("arena/admin.css")


def test_the_map_uses_no_tile_server_unless_one_is_configured(settings, synthetic_test: Path, model_version):
    panorama_set_import(manifest_path=synthetic_test, name="s")
    client = Client()
    game = client.post("/api/games", data={"set": "s", "rounds": 1}, content_type="application/json").json()
    assert "data-tile-url" not in client.get(f"/play/{game['game']}").content.decode()
    settings.PLANET_MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.PLANET_MAP_TILE_ATTRIBUTION = "© Example contributors"
    html = client.get(f"/play/{game['game']}").content.decode()
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in html
    assert 'data-tile-attribution="© Example contributors"' in html


def test_the_benchmark_page_is_public_and_loads_its_module():
    html = Client().get("/stats").content.decode()
    assert '<script type="module" src="/static/arena/stats.js">' in html
    assert finders.find("arena/stats.js")
