"""Model versions: registering one (its hash, its ONNX graph and parity), a game needing one, and a worker process
preloading the default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gameserver.games.services import game_create
from gameserver.inference import services
from gameserver.inference.checkpoints import checkpoint_key, checkpoint_local
from gameserver.inference.models import ModelVersion
from gameserver.inference.registration import ModelVersionError, model_version_register
from gameserver.objectstore import file_sha256, object_exists
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
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


@pytest.mark.parametrize(
    "content,message", [(None, "no checkpoint file"), (b"garbage", "model.pt is not a planet checkpoint")]
)
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


def test_preloading_a_broken_default_model_logs_why_and_keeps_the_worker_up(model_version, checkpoint_broken, caplog):
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
