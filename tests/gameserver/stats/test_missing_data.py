"""Missing data in the open: every seat of a closed round has a row (a seat that never guessed is a timeout),
rounds still in play are reported as open, and every exclusion is counted, per mode too."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gameserver.games.models import Game, Round
from gameserver.stats.selectors import benchmark_from_rows, round_rows, rounds_open

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, url: str, body: object) -> dict:
    return client.post(url, data=json.dumps(body), content_type="application/json").json()


def test_a_seat_that_never_guessed_has_a_timeout_row_once_the_round_closes(synthetic):
    ann, bob = Client(), Client()
    game = post(ann, "/api/games", {"set": synthetic, "rounds": 1, "time_limit_s": 30, "name": "Ann"})["game"]
    post(bob, f"/api/games/{game}/join", {"name": "Bob"})
    view = post(ann, f"/api/games/{game}/rounds/1/start", {})
    post(ann, f"/api/rounds/{view['round']}/guess", {"latitude": 1.5, "longitude": 1.5})
    # Bob is still to guess: the round is open, nothing of it in the rows.
    assert round_rows() == [] and rounds_open() == {"rounds": 1, "games": 1}
    # Ten minutes later: the round closed at its deadline with Bob's seat empty.
    past = timezone.now() - timedelta(minutes=10)
    Round.objects.filter(public_id=view["round"]).update(
        served_at=past, model_ready_at=past + timedelta(seconds=1), deadline=past + timedelta(seconds=30)
    )
    rows = round_rows()
    assert [(row["player_name"], row["guess_missing"], row["human_timed_out"]) for row in rows] == [
        ("Ann", False, False),
        ("Bob", True, True),
    ]
    bob_row = rows[1]
    assert bob_row["human_km"] is None and bob_row["human_points"] == 0.0 and bob_row["counted"]
    assert bob_row["model_km"] == rows[0]["model_km"] and bob_row["winner_continent"] in ("model", "tie")
    tables = benchmark_from_rows(rows=rows)
    assert tables["rounds"] == 2 and tables["guesses_missing"] == 1 and rounds_open() == {"rounds": 0, "games": 0}


def test_a_late_model_is_reported_per_mode(synthetic, settings):
    client = Client()
    for mode in ("move", "nmpz"):
        game = post(client, "/api/games", {"set": synthetic, "rounds": 2, "mode": mode})["game"]
        for n in (1, 2):
            view = post(client, f"/api/games/{game}/rounds/{n}/start", {})
            if mode == "nmpz" and n == 2:  # the model had not answered when the player locked
                Round.objects.filter(public_id=view["round"]).update(
                    model_status=Round.ModelStatus.PENDING, model_latitude=None, model_longitude=None
                )
            post(client, f"/api/rounds/{view['round']}/guess", {"latitude": 5.5, "longitude": 5.5})
    assert Game.objects.count() == 2
    tables = benchmark_from_rows(rows=round_rows())
    by_mode = tables["excluded_by_mode"]
    assert isinstance(by_mode, dict)
    assert by_mode["move"] == {"player_rounds": 2, "excluded": {}, "model_not_committed_share": 0.0}
    assert by_mode["nmpz"] == {
        "player_rounds": 2,
        "excluded": {"model_not_committed": 1},
        "model_not_committed_share": 0.5,
    }
    assert tables["excluded"] == {"model_not_committed": 1}
