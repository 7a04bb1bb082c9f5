"""A round that timed out: no pin, no distance, so the player is inside no radius (the reveal said "Both" at every
radius where the model was inside)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.gameserver.games.test_api import panorama_set, post  # noqa: F401 (panorama_set is a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_timed_out_guess_is_inside_no_radius(panorama_set):
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1, "time_limit_s": 30})
    _, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})

    status, reveal = post(client, f"/api/rounds/{view['round']}/guess", {"timed_out": True})

    assert status == 201 and reveal["human"]["km"] is None and reveal["model"]["status"] == "ready"
    # No pin, no distance: PlaNet wins each radius it is inside, and the rest are no one's (never the player's).
    model_km = reveal["model"]["km"]
    assert reveal["winners"] == {
        threshold["name"]: "model" if model_km <= threshold["km"] else "tie" for threshold in reveal["thresholds"]
    }
    assert reveal["head_to_head"] == "model"
