"""A worker started while the default model's checkpoint is missing or corrupt: its log says so at start, naming
the file and why, and it stays up; the rounds play on with the model's guess marked unavailable."""

from __future__ import annotations

import json
import os

import pytest
from django.test import Client

from gameserver.games.models import Round
from gameserver.panoramas.services import panorama_set_import

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL and Redis; make test runs it in its DATABASE_URL/REDIS_URL pass",
    ),
]


@pytest.mark.parametrize("content,reason", [(None, "is missing"), (b"\x00garbage", "changed since registration")])
def test_a_worker_on_a_broken_checkpoint_says_why_at_start_and_the_rounds_play_on(
    content: bytes | None, reason: str, synthetic_test, model_version, spawn, eventually, checkpoint_broken
):
    checkpoint_broken(model_version, content)  # the stored checkpoint went missing or was damaged since

    worker = spawn.worker("worker")
    started = worker.log_text()
    assert "default model 'tiny' cannot be loaded" in started and reason in started
    assert model_version.checkpoint_sha256[:12] in started

    panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    client = Client()
    post = lambda url, body: client.post(url, data=json.dumps(body), content_type="application/json")  # noqa: E731
    game = post("/api/games", {"set": "synthetic", "rounds": 1}).json()
    view = post(f"/api/games/{game['game']}/rounds/1/start", {}).json()
    unavailable = eventually(
        lambda: Round.objects.filter(public_id=view["round"], model_status=Round.ModelStatus.UNAVAILABLE).first(),
        what="the worker marking the model's guess unavailable",
        log=worker.log,
    )
    assert model_version.checkpoint_sha256[:12] in unavailable.model_error and reason in unavailable.model_error
    guessed = post(f"/api/rounds/{view['round']}/guess", {"latitude": 1.0, "longitude": 2.0})
    assert guessed.status_code == 201 and guessed.json()["counted"] is False
    assert worker.process.poll() is None  # still up, for when the checkpoint is put back
