"""A channel layer that cannot be reached when a guess commits (Redis restarting): the guess is stored and the
player gets the reveal; the event is logged as not sent. Runs in both passes (in-memory or Redis layer)."""

from __future__ import annotations

import json

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from gameserver.games.models import Guess
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)


async def layer_down(group: str, message: dict[str, object]) -> None:
    raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_guess_is_stored_and_revealed_when_its_events_cannot_be_sent(
    synthetic_test, model_version, monkeypatch, caplog
):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    client = Client()
    post = lambda url, body: client.post(url, data=json.dumps(body), content_type="application/json")  # noqa: E731
    game = post("/api/games", {"set": "synthetic", "rounds": 1}).json()
    view = post(f"/api/games/{game['game']}/rounds/1/start", {}).json()

    monkeypatch.setattr(get_channel_layer(), "group_send", layer_down)
    guessed = post(f"/api/rounds/{view['round']}/guess", {"latitude": 1.0, "longitude": 2.0})
    assert guessed.status_code == 201 and guessed.json()["locked"]
    assert Guess.objects.filter(round__public_id=view["round"]).count() == 1
    assert "game_event_send_on_commit" in caplog.text and "Connection refused" in caplog.text
