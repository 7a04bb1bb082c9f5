"""A round whose model guess never comes (no worker left, or no broker to reach one) still plays: the guess is
locked and revealed, and the round is left out of the benchmark. Runs in both passes (eager worker embedded)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from kombu.exceptions import OperationalError

from gameserver.games import tasks
from gameserver.games.models import Round
from gameserver.panoramas.services import panorama_set_import

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, url: str, body: object) -> tuple[int, dict[str, Any]]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def nobody_answers(round_id: int) -> None:
    """The task is queued, but every worker is gone."""


def broker_down(round_id: int) -> None:
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.parametrize("enqueue,status", [(nobody_answers, "pending"), (broker_down, "unavailable")])
def test_a_round_the_model_never_answers_plays_on_and_is_left_out_of_the_benchmark(
    enqueue: Callable[[int], None], status: str, synthetic_test, model_version, monkeypatch
):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    client = Client()
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 2})
    _, answered = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    assert post(client, f"/api/rounds/{answered['round']}/guess", {"latitude": 1.0, "longitude": 2.0})[1]["counted"]

    monkeypatch.setattr(tasks.predict_round, "delay", enqueue)
    started, view = post(client, f"/api/games/{game['game']}/rounds/2/start", {})
    assert started == 200
    guessed, reveal = post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 1.0, "longitude": 2.0})
    assert guessed == 201 and reveal["human"]["km"] > 0  # scored
    assert reveal["model"] == {"status": status} and reveal["counted"] is False and "winners" not in reveal
    if status == "unavailable":
        assert "task queue cannot be reached" in Round.objects.get(public_id=view["round"]).model_error

    benchmark = client.get("/api/stats/benchmark?tier=open").json()
    assert benchmark["player_rounds"] == 2 and benchmark["rounds"] == 1
    assert benchmark["excluded"] == {"model_not_committed": 1}
    assert client.get(f"/api/games/{game['game']}").json()["finished"]
