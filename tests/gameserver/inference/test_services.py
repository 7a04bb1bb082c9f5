"""Model versions, the batched model guess, and refusing a checkpoint that changed since registration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gameserver.games.models import Round
from gameserver.games.rules import round_view_key
from gameserver.games.services import game_create, round_serve
from gameserver.inference import services, tasks
from gameserver.inference.checkpoints import checkpoint_key, checkpoint_local
from gameserver.inference.models import ModelVersion
from gameserver.inference.registration import ModelVersionError, model_version_register
from gameserver.inference.services import round_predict
from gameserver.objectstore import file_sha256, object_exists
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import image_open
from planet_engine.onnx_export import onnx_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def panorama_set(synthetic_test: Path) -> PanoramaSet:
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="synthetic").set_id)


def test_register_model_records_the_hash_and_one_default(tiny_checkpoint, tmp_path, capsys, settings):
    settings.PLANET_MODELS_DIR = tmp_path
    shutil.copy(tiny_checkpoint, tmp_path / "model.pt")
    call_command("register_model", name="first", checkpoint="model.pt")
    copy = tmp_path / "copy.pt"
    shutil.copy(tiny_checkpoint, copy)
    call_command("register_model", name="second", checkpoint=str(copy), default=True)
    assert "(default)" in capsys.readouterr().out
    first, second = ModelVersion.objects.get(name="first"), ModelVersion.objects.get(name="second")
    assert (first.is_default, second.is_default) == (False, True), "only one default at a time"
    assert first.checkpoint_sha256 == second.checkpoint_sha256 and len(first.checkpoint_sha256) == 64
    assert "efficientnet-lite0" in first.description and "cells" in first.description


@pytest.mark.parametrize("content,message", [(None, "no checkpoint file"),
                                             (b"garbage", "model.pt is not a planet checkpoint")])
def test_register_model_refuses_a_missing_or_corrupt_checkpoint(content, message, tmp_path, settings):
    settings.PLANET_MODELS_DIR = tmp_path
    path = tmp_path / "model.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("register_model", name="bad", checkpoint=str(path))
    assert not ModelVersion.objects.exists()


def test_a_model_name_must_be_a_slug(tiny_checkpoint):
    with pytest.raises(ModelVersionError, match="slug"):
        model_version_register(name="no spaces please", checkpoint=tiny_checkpoint)


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
            (alone.latitude, alone.longitude))


def test_a_checkpoint_replaced_after_registration_is_refused_before_it_is_loaded(panorama_set, model_version,
                                                                                checkpoint_broken, monkeypatch):
    checkpoint_broken(model_version, b"another model entirely")  # the stored object is not what was registered
    loads: list[str] = []
    monkeypatch.setattr(services, "Predictor", lambda path, **kw: loads.append(path))
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=1)
    served = round_serve(round=game.rounds.get(), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.UNAVAILABLE and "changed since registration" in served.model_error
    assert loads == []  # the hash is checked before torch reads a byte of it


def test_a_game_needs_a_registered_model(panorama_set):
    from gameserver.games.errors import GameError

    with pytest.raises(GameError, match="register_model"):
        game_create(panorama_set=panorama_set, owner_key="p", rounds=1)


def test_a_worker_process_preloads_the_default_model(model_version, caplog):
    from gameserver.inference.services import default_model_preload, predictor, version_predictor

    predictor.cache_clear()
    with caplog.at_level("INFO", logger="gameserver.inference.services"):
        default_model_preload()
        version_predictor(version=model_version)  # the first task: served from the cache
    assert predictor.cache_info().currsize == 1 and predictor.cache_info().hits == 1
    assert sum("loaded model" in record.message for record in caplog.records) == 1


def test_preloading_a_broken_default_model_logs_why_and_keeps_the_worker_up(model_version, checkpoint_broken,
                                                                             caplog):
    from gameserver.inference.services import default_model_preload

    checkpoint_broken(model_version, b"nope")
    default_model_preload()
    assert "cannot be loaded" in caplog.text and "changed since registration" in caplog.text


def test_a_model_whose_onnx_graph_fails_parity_is_refused(tiny_checkpoint, tmp_path, monkeypatch):
    from planet_engine import onnx_export

    copy = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, copy)
    monkeypatch.setattr(onnx_export, "PARITY_ATOL", -1.0)  # no graph can be that close
    with pytest.raises(ModelVersionError, match="ONNX graph differs"):
        model_version_register(name="strict", checkpoint=copy)
    assert not ModelVersion.objects.exists() and not list(tmp_path.rglob("*.onnx"))
    assert not object_exists(key=checkpoint_key(sha256=file_sha256(copy)))  # the store took it back


def test_registering_exports_the_graph_the_worker_serves(tiny_checkpoint, tmp_path):
    copy = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, copy)
    version = model_version_register(name="graph", checkpoint=copy)
    local = checkpoint_local(sha256=version.checkpoint_sha256)
    assert onnx_path(local, version.checkpoint_sha256).is_file()  # beside the copy a worker here loads
    assert services.version_predictor(version=version).backend == "onnx"


def test_a_round_answered_while_the_model_ran_keeps_the_first_answer(panorama_set, model_version, monkeypatch):
    monkeypatch.setattr(tasks.predict_round, "delay", lambda round_id: None)
    game_round = round_serve(round=game_create(panorama_set=panorama_set, owner_key="p", rounds=1).rounds.get(),
                             player_key="p")
    predictor = services.version_predictor(version=model_version)
    original = predictor.predict_groups

    def another_worker_answers_first(groups, **kw):
        Round.objects.filter(pk=game_round.pk).update(model_status=Round.ModelStatus.READY, model_latitude=1.0,
                                                      model_longitude=2.0)
        return original(groups, **kw)

    monkeypatch.setattr(predictor, "predict_groups", another_worker_answers_first)
    round_predict(round_id=game_round.pk)
    game_round.refresh_from_db()
    assert (game_round.model_latitude, game_round.model_longitude) == (1.0, 2.0)
