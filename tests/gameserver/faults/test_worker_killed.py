"""A worker killed in the middle of a model guess: the task is handed out again (acks late), the round plays on,
and a human guess locked before the model's answer is stored but left out of the benchmark.

The worker is caught mid-task for certain: the test holds the round's row, so the worker's commit of the model
guess waits on it, and the kill lands while the worker is seen waiting (pg_stat_activity)."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from django.test import Client

from gameserver.games.models import Guess, Round
from gameserver.panoramas.services import panorama_set_import
from gameserver.stats.selectors import benchmark_from_rows, round_rows

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
]
# Another worker takes over a dead worker's task after 1 s instead of the deployed 300 s.
FAST_REDELIVERY = {"PLANET_TASK_VISIBILITY_TIMEOUT_S": "1"}


def post(client: Client, url: str, body: object) -> tuple[int, dict[str, object]]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def round_served_while_no_worker_runs(client: Client, synthetic_test: Path) -> Round:
    """A one-round game whose round is started: its model task waits on the broker."""
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    _, game = post(client, "/api/games", {"set": "synthetic", "rounds": 1})
    status, view = post(client, f"/api/games/{game['game']}/rounds/1/start", {})
    assert status == 200
    return Round.objects.get(public_id=view["round"])


def task_ids(log: str, state: str) -> list[str]:
    return re.findall(rf"predict_round\[([0-9a-f-]+)\] {state}", log)


def test_a_task_whose_worker_is_killed_goes_to_another_worker(synthetic_test, spawn, database_faults, eventually):
    client = Client()
    game_round = round_served_while_no_worker_runs(client, synthetic_test)
    with database_faults.row_held(Round._meta.db_table, game_round.pk):
        first = spawn.worker("worker-a", env=FAST_REDELIVERY)
        eventually(database_faults.waiting_on_a_lock, what="worker A committing the model guess", log=first.log)
        first.kill()
    (task_id,) = task_ids(first.log_text(), "received")
    assert not task_ids(first.log_text(), "succeeded")
    assert Round.objects.get(pk=game_round.pk).model_status == Round.ModelStatus.PENDING

    # Meanwhile the player guesses: stored and revealed, the model's guess still to come.
    status, reveal = post(client, f"/api/rounds/{game_round.public_id}/guess", {"latitude": 10.0, "longitude": 20.0})
    assert status == 201 and reveal["model"] == {"status": "pending"} and reveal["counted"] is False

    second = spawn.worker("worker-b", env=FAST_REDELIVERY)
    second.wait_for_log(f"predict_round[{task_id}] succeeded")  # the very message worker A died in
    ready = Round.objects.get(pk=game_round.pk)
    assert ready.model_status == Round.ModelStatus.READY
    assert ready.model_checkpoint_sha256 == ready.game.model_version.checkpoint_sha256

    guess = Guess.objects.get()
    assert not guess.model_committed_first and guess.model_km is None
    late = client.get(f"/api/rounds/{game_round.public_id}").json()
    assert late["model"]["status"] == "ready" and late["counted"] is False  # shown, never counted
    rows = round_rows()
    assert [row["exclusion"] for row in rows] == ["model_not_committed"]
    assert benchmark_from_rows(rows=rows)["excluded"] == {"model_not_committed": 1}


def test_a_task_whose_pool_process_dies_is_requeued_at_once(synthetic_test, spawn, database_faults, eventually):
    game_round = round_served_while_no_worker_runs(Client(), synthetic_test)
    with database_faults.row_held(Round._meta.db_table, game_round.pk):
        worker = spawn.worker("worker", pool="prefork")  # the deployed visibility timeout: 300 s
        eventually(
            database_faults.waiting_on_a_lock, what="the pool process committing the model guess", log=worker.log
        )
        pid = worker.process.pid
        (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        os.kill(int(child), signal.SIGKILL)
        worker.wait_for_log("signal 9 (SIGKILL)")
    # The worker rejects the lost task back onto the queue (task_reject_on_worker_lost) and its new pool
    # process answers it, long before the visibility timeout would.
    ready = eventually(
        lambda: Round.objects.filter(pk=game_round.pk, model_status=Round.ModelStatus.READY).first(),
        what="the requeued task answering",
        log=worker.log,
    )
    assert ready.model_top_cells and ready.model_error == ""
