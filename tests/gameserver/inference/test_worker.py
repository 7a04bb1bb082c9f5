"""The model's guess through a real Celery worker (in-process thread; Redis broker when REDIS_URL is set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameserver.games.guessing import guess_submit
from gameserver.games.models import Round
from gameserver.games.services import game_create, round_serve
from gameserver.inference.worker import embedded_worker
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def test_a_real_worker_commits_the_model_guess_before_the_human_guesses(
    synthetic_test: Path, model_version, wait_for_model
):
    report = panorama_set_import(manifest_path=synthetic_test, name="synthetic")
    game = game_create(panorama_set=PanoramaSet.objects.get(pk=report.set_id), owner_key="p", rounds=3)
    with embedded_worker():
        for game_round in game.rounds.all():
            served = round_serve(round=game_round, player_key="p")
            ready = wait_for_model(pk=served.pk)
            assert ready.model_status == Round.ModelStatus.READY
            guess = guess_submit(round=ready, player_key="p", latitude=0, longitude=0).guess
            assert guess.model_committed_first and guess.model_km is not None
