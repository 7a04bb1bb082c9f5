"""The database drops connections during a game (a restart, a failover), simulated without touching the shared
server: the sessions of the test's own web server or worker are terminated while they wait on a round's row,
which the test holds. Neither the player's guess nor the model's is lost; neither is stored twice."""

from __future__ import annotations

import os
import threading

import pytest

from gameserver.games.models import Guess, Round
from gameserver.panoramas.services import panorama_set_import

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
]
GUESS = {"latitude": 48.8, "longitude": 2.3}


def test_a_guess_cut_off_by_the_database_is_stored_once_when_the_player_sends_it_again(
    synthetic_test, spawn, http_player, database_faults, eventually
):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    _, base = spawn.web("web")
    player = http_player(base)
    _, game = player.call("POST", "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = player.call("POST", f"/api/games/{game['game']}/rounds/1/start", {})
    guess_url = f"/api/rounds/{view['round']}/guess"

    answers: list[int] = []
    with database_faults.row_held(Round._meta.db_table, Round.objects.get(public_id=view["round"]).pk):
        sending = threading.Thread(target=lambda: answers.append(player.call("POST", guess_url, GUESS)[0]))
        sending.start()
        eventually(database_faults.waiting_on_a_lock, what="the guess waiting on the round's row")
        assert database_faults.terminate(waiting_on_a_lock_only=True) == 1  # its connection drops mid-guess
        sending.join(timeout=30)
    assert answers == [500] and not Guess.objects.exists()  # failed whole: nothing half-written

    # The player sends it again (the page keeps the pin and the button): the next request gets through.
    status, stored = player.call("POST", guess_url, GUESS)
    assert status == 201 and not stored["repeated"]
    status, again = player.call("POST", guess_url, GUESS)
    assert status == 200 and again["repeated"] and again["human"] == stored["human"]
    assert Guess.objects.count() == 1


def test_a_model_guess_cut_off_by_the_database_is_retried_and_recorded(
    synthetic_test, spawn, http_player, database_faults, eventually
):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    _, base = spawn.web("web")
    player = http_player(base)
    _, game = player.call("POST", "/api/games", {"set": "synthetic", "rounds": 1})
    _, view = player.call("POST", f"/api/games/{game['game']}/rounds/1/start", {})  # queued: no worker yet

    with database_faults.row_held(Round._meta.db_table, Round.objects.get(public_id=view["round"]).pk):
        worker = spawn.worker("worker")
        eventually(database_faults.waiting_on_a_lock, what="the worker committing the model guess", log=worker.log)
        assert database_faults.terminate(waiting_on_a_lock_only=True) == 1
        worker.wait_for_log("Retry in")
    ready = eventually(
        lambda: Round.objects.filter(public_id=view["round"], model_status=Round.ModelStatus.READY),
        what="the retried task answering",
        log=worker.log,
    )
    assert ready.get().model_top_cells
    status, reveal = player.call("POST", f"/api/rounds/{view['round']}/guess", GUESS)
    assert status == 201 and reveal["model"]["status"] == "ready" and reveal["counted"] is True
