"""The game deployed across machines: web processes, GPU workers and the admin's import each on a machine of its
own, sharing PostgreSQL, Redis (channel layer and cache), RabbitMQ (the task broker) and an S3-compatible object
store, and no disk. Each "machine" here is a process with a var directory of its own; the store is a real S3
server on loopback (moto's server mode), the broker the RabbitMQ this machine runs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from gameserver.games.models import Round
from gameserver.inference.models import ModelVersion

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="machines share a database server and a channel layer, not a disk: needs PostgreSQL "
        "and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
]


class Deployment:
    """Machines of one deployment: what each role is started with."""

    def __init__(self, tmp_path: Path, store, broker: str) -> None:
        self.tmp_path, self.store, self.broker = tmp_path, store, broker

    def machine(self, name: str) -> dict[str, str]:
        var = self.tmp_path / "machines" / name
        var.mkdir(parents=True)
        # One secret key for every machine of a deployment, as production requires (settings.py).
        return {
            "PLANET_VAR_DIR": str(var),
            "CELERY_BROKER_URL": self.broker,
            "DJANGO_SECRET_KEY": "s" * 50,
            **self.store.env,
        }

    def admin_loads(self, spawn, manifest: Path, checkpoint: Path) -> None:
        """The admin's machine imports the set and registers the model into the store, then is gone: nothing on
        its disk (the upload, the re-encoded images, its checks' files) is there for anyone else."""
        env = self.machine("admin")
        upload = Path(env["PLANET_VAR_DIR"]) / "models" / "model.pt"  # PLANET_MODELS_DIR's default
        upload.parent.mkdir()
        shutil.copy(checkpoint, upload)
        for name, argv in (
            ("import", ["import_panoramas", "--manifest", str(manifest), "--name", "synthetic"]),
            ("register", ["register_model", "--name", "tiny", "--checkpoint", upload.name, "--default"]),
        ):
            process = spawn(name, [sys.executable, "manage.py", *argv], env=env)
            assert process.process.wait(timeout=300) == 0, process.log_text()
        shutil.rmtree(env["PLANET_VAR_DIR"])


@pytest.fixture
def deployment(
    tmp_path: Path, s3_store, rabbitmq: str, spawn, synthetic_test: Path, tiny_checkpoint: Path
) -> Deployment:
    deployed = Deployment(tmp_path, s3_store, rabbitmq)
    deployed.admin_loads(spawn, synthetic_test, tiny_checkpoint)
    return deployed


def files_in(env: dict[str, str]) -> list[str]:
    root = Path(env["PLANET_VAR_DIR"])
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_whole_game_plays_with_the_web_and_the_worker_on_machines_that_share_no_disk(
    deployment, spawn, s3_store, http_player, eventually
):
    worker_env, web_env = deployment.machine("gpu-worker"), deployment.machine("web")
    worker = spawn.worker("worker", env=worker_env)
    _, base = spawn.web("web", env=web_env)
    player = http_player(base)

    status, game = player.call("POST", "/api/games", {"set": "synthetic", "rounds": 3})
    assert status == 201, game
    for number in (1, 2, 3):
        status, view = player.call("POST", f"/api/games/{game['game']}/rounds/{number}/start", {})
        assert status == 200, view
        with player.opener.open(base + view["image_url"], timeout=30) as response:
            image = response.read()
        served = Round.objects.get(public_id=view["round"])
        # The bytes the player got are this round's own encoding, kept in the store (not on the web's disk).
        assert hashlib.sha256(image).hexdigest() == served.view_sha256
        assert s3_store.read(f"rounds/{served.view_name}") == image
        eventually(
            lambda view=view: player.call("GET", f"/api/rounds/{view['round']}")[1].get("model_ready"),
            seconds=60.0,
            what="the worker's guess on the round",
            log=worker.log,
        )
        status, reveal = player.call(
            "POST", f"/api/rounds/{view['round']}/guess", {"latitude": 10.0, "longitude": 20.0}
        )
        assert status == 201 and reveal["model"]["status"] == "ready" and reveal["counted"] is True, reveal
        served.refresh_from_db()
        assert served.model_view == "served"  # the model guessed from the very bytes served

    _, summary = player.call("GET", f"/api/games/{game['game']}")
    assert summary["finished"] is True, summary
    version = ModelVersion.objects.get(is_default=True)
    assert s3_store.keys("checkpoints/") == [f"checkpoints/{version.checkpoint_sha256}.pt"]
    assert len(s3_store.keys("rounds/")) == 3
    # The worker's disk holds its verified copy of the checkpoint (and the graph it runs); the web's holds nothing.
    cached = f"checkpoints/{version.checkpoint_sha256}.pt"
    assert cached in files_in(worker_env) and not [f for f in files_in(worker_env) if f.endswith(".jpg")]
    assert files_in(web_env) == []


def test_a_task_whose_worker_is_killed_goes_to_a_worker_on_another_machine(
    deployment, spawn, http_player, database_faults, eventually
):
    _, base = spawn.web("web", env=deployment.machine("web"))
    player = http_player(base)
    _, game = player.call("POST", "/api/games", {"set": "synthetic", "rounds": 1})
    status, view = player.call("POST", f"/api/games/{game['game']}/rounds/1/start", {})
    assert status == 200, view
    game_round = Round.objects.get(public_id=view["round"])
    # Held here, the round's row makes worker A wait in the middle of the task, where the kill lands.
    with database_faults.row_held(Round._meta.db_table, game_round.pk):
        first = spawn.worker("worker-a", env=deployment.machine("worker-a"))
        eventually(database_faults.waiting_on_a_lock, what="worker A committing the model guess", log=first.log)
        first.kill()
    (task_id,) = re.findall(r"predict_round\[([0-9a-f-]+)\] received", first.log_text())
    assert Round.objects.get(pk=game_round.pk).model_status == Round.ModelStatus.PENDING

    # RabbitMQ hands the unacknowledged message back when A's connection drops; B, elsewhere, answers it.
    second = spawn.worker("worker-b", env=deployment.machine("worker-b"))
    second.wait_for_log(f"predict_round[{task_id}] succeeded", seconds=60.0)
    ready = Round.objects.get(pk=game_round.pk)
    assert ready.model_status == Round.ModelStatus.READY
    assert ready.model_checkpoint_sha256 == ready.game.model_version.checkpoint_sha256
