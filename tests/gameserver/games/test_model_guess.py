"""The model's guess on a round: the waiting rounds of one model batched in one forward pass, a round answered
meanwhile kept as it is, and a checkpoint changed since registration refused before it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameserver.games import tasks
from gameserver.games.model_guess import round_predict
from gameserver.games.models import Round
from gameserver.games.rules import round_view_key
from gameserver.games.services import game_create, round_serve
from gameserver.inference import services
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import image_open
from planet_engine import predict

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def panorama_set(synthetic_test: Path) -> PanoramaSet:
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="synthetic").set_id)


def test_waiting_rounds_of_one_model_share_one_forward_pass(panorama_set, model_version, monkeypatch):
    monkeypatch.setattr(tasks.predict_round, "delay", lambda round_id: None)  # nobody answers yet
    games = [game_create(panorama_set=panorama_set, owner_key="p", rounds=1) for _ in range(3)]
    rounds = [round_serve(round=game.rounds.get(), player_key="p") for game in games]
    batches: list[int] = []
    predictor = services.version_predictor(version=model_version)
    original = predictor.predict_groups

    def counted(groups, **kw):
        batches.append(len(groups))
        return original(groups, **kw)

    monkeypatch.setattr(predictor, "predict_groups", counted)

    round_predict(round_id=rounds[1].pk)
    round_predict(round_id=rounds[0].pk)  # already answered by the first call: no second forward

    assert batches == [3]
    assert set(Round.objects.values_list("model_status", flat=True)) == {Round.ModelStatus.READY}
    # Each round got its own served image's answer: the same as predicting it alone.
    for game_round in Round.objects.select_related("panorama", "game"):
        alone = original([[image_open(key=round_view_key(round=game_round))]], top_k=1)[0]
        assert (game_round.model_latitude, game_round.model_longitude) == pytest.approx(
            (alone.latitude, alone.longitude)
        )


def test_a_checkpoint_replaced_after_registration_is_refused_before_it_is_loaded(
    panorama_set, model_version, checkpoint_broken, monkeypatch
):
    checkpoint_broken(model_version, b"another model entirely")  # the stored object is not what was registered
    loads: list[str] = []
    monkeypatch.setattr(predict, "Predictor", lambda path, **kw: loads.append(path))
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=1)
    served = round_serve(round=game.rounds.get(), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.UNAVAILABLE and "changed since registration" in served.model_error
    assert loads == []  # the hash is checked before torch reads a byte of it


def test_a_round_answered_while_the_model_ran_keeps_the_first_answer(panorama_set, model_version, monkeypatch):
    monkeypatch.setattr(tasks.predict_round, "delay", lambda round_id: None)
    game_round = round_serve(
        round=game_create(panorama_set=panorama_set, owner_key="p", rounds=1).rounds.get(), player_key="p"
    )
    predictor = services.version_predictor(version=model_version)
    original = predictor.predict_groups

    def another_worker_answers_first(groups, **kw):
        Round.objects.filter(pk=game_round.pk).update(
            model_status=Round.ModelStatus.READY, model_latitude=1.0, model_longitude=2.0
        )
        return original(groups, **kw)

    monkeypatch.setattr(predictor, "predict_groups", another_worker_answers_first)
    round_predict(round_id=game_round.pk)
    game_round.refresh_from_db()
    assert (game_round.model_latitude, game_round.model_longitude) == (1.0, 2.0)
