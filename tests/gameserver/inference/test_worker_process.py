"""Production mode end to end: a separate `celery -A gameserver worker -Q inference` process, PostgreSQL and
Redis, a whole game played through the API. `make test` runs it in its PostgreSQL + Redis pass (.ci/run
starts both where they are installed); the embedded pass has no broker another process could reach."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from gameserver.games.models import Guess, Round
from gameserver.panoramas.services import panorama_set_import
from gameserver.worker_command import inference_worker_command

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
]
ROOT = Path(__file__).resolve().parents[3]


def database_url_of(settings_dict: dict[str, object]) -> str:
    user = settings_dict["USER"] or ""
    auth = f"{user}:{settings_dict['PASSWORD']}@" if settings_dict["PASSWORD"] else (f"{user}@" if user else "")
    return f"postgresql://{auth}{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


@pytest.fixture
def worker_process(tmp_path: Path, model_version):
    """A real worker on the test database, its storage folder the test's own; its log in worker.log."""
    from gameserver.celery import app

    app.control.purge()  # tasks a crashed earlier run left on the broker
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "PLANET_VAR_DIR": str(tmp_path),
        "DATABASE_CONN_MAX_AGE": "0",
    }
    assert Path(settings.PANORAMA_STORAGE_DIR) == tmp_path / "panoramas"
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        inference_worker_command(),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app.conf.task_always_eager = False
    try:
        yield tmp_path / "worker.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def other_backends() -> set[tuple[int, object]]:
    """The PostgreSQL sessions on the test database other than this process's own: (pid, backend start)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


def test_a_game_against_a_separate_worker_process(synthetic_test, worker_process, wait_for_model):
    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    sessions: list[set[tuple[int, object]]] = []
    before = other_backends()  # sessions earlier tests of this process left open, if any
    client = Client()
    post = lambda url, body: client.post(url, data=json.dumps(body), content_type="application/json")  # noqa: E731
    game = post("/api/games", {"set": "synthetic", "rounds": 3}).json()
    for number in (1, 2, 3):
        if number == 3:  # the worker's kept connection dies while it waits for a task (PostgreSQL restarted)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [[p for p, _ in sessions[1]]]
                )
        view = post(f"/api/games/{game['game']}/rounds/{number}/start", {}).json()
        ready = wait_for_model(public_id=view["round"], log=worker_process)
        assert ready.model_status == Round.ModelStatus.READY, ready.model_error
        sessions.append(other_backends() - before)
        reveal = post(f"/api/rounds/{view['round']}/guess", {"latitude": 10.0, "longitude": 20.0}).json()
        assert reveal["model"]["status"] == "ready" and reveal["model"]["km"] >= 0
        assert reveal["model"]["checkpoint_sha256"] == ready.game.model_version.checkpoint_sha256
    assert Guess.objects.filter(model_committed_first=True).count() == 3
    # The worker loaded the model once, when its process started, not once per task.
    assert worker_process.read_text().count("loaded model") == 1
    # ... answered rounds 1 and 2 on one database session, kept between tasks (settings.CELERY_DB_REUSE_MAX), not a
    # new connection (a PostgreSQL backend started) for each; and when that session died, found it dead before
    # round 3's task and reconnected, without failing the task first (gameserver/celery.py).
    assert len(sessions[0]) == 1 and sessions[0] == sessions[1], sessions
    assert len(sessions[2]) == 1 and sessions[2] != sessions[1], sessions
    assert "retry" not in worker_process.read_text().lower()
