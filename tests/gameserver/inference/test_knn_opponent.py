"""The kNN retrieval model as a registered opponent: verified by hash like a checkpoint, and predicting on the
served bytes like PlaNet."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gameserver.games.guessing import guess_submit
from gameserver.games.models import Round
from gameserver.games.rules import round_view_key
from gameserver.games.services import game_create, round_serve
from gameserver.inference import services
from gameserver.inference.checkpoints import checkpoint_local
from gameserver.inference.models import ModelVersion
from gameserver.inference.registration import model_version_register
from gameserver.objectstore import file_sha256
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from gameserver.panoramas.storage import image_open
from planet_engine.geo import distance_km
from planet_engine.knn import KnnPredictor, knn_build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def models_dir(tiny_knn_checkpoint, tiny_checkpoint, tmp_path, settings):
    """The command reads checkpoints from PLANET_MODELS_DIR only: both tiny ones, by their own names."""
    settings.PLANET_MODELS_DIR = tmp_path
    for checkpoint in (tiny_knn_checkpoint, tiny_checkpoint):
        shutil.copy(checkpoint, tmp_path / checkpoint.name)  # a copy: a link out of the folder is refused


@pytest.fixture
def panorama_set(synthetic_test: Path) -> PanoramaSet:
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=synthetic_test, name="synthetic").set_id)


def test_register_model_with_kind_knn_records_the_gallery_and_its_hash(tiny_knn_checkpoint, tmp_path, capsys):
    call_command("register_model", name="knn-tiny", checkpoint=tiny_knn_checkpoint.name, kind="knn")
    version = ModelVersion.objects.get(name="knn-tiny")
    assert version.kind == ModelVersion.Kind.KNN and version.is_default, "the first model is the default"
    assert version.checkpoint_sha256 == hashlib.sha256(tiny_knn_checkpoint.read_bytes()).hexdigest()
    assert "kNN" in version.description and "48 gallery photos" in version.description
    assert "knn-tiny" in capsys.readouterr().out
    assert not list(tiny_knn_checkpoint.parent.glob("*.onnx")), "kNN runs in torch: no graph is exported"


def test_a_checkpoint_of_the_other_kind_is_refused(tiny_knn_checkpoint, tiny_checkpoint):
    with pytest.raises(CommandError, match="knn.pt is a knn checkpoint, not a planet one"):
        call_command("register_model", name="wrong", checkpoint=tiny_knn_checkpoint.name)
    with pytest.raises(CommandError, match="model.pt is a planet checkpoint, not a knn one"):
        call_command("register_model", name="wrong", checkpoint=tiny_checkpoint.name, kind="knn")
    assert not ModelVersion.objects.exists()


def test_a_name_keeps_its_kind(tiny_knn_checkpoint, model_version):
    with pytest.raises(CommandError, match="kind planet"):
        call_command("register_model", name=model_version.name, checkpoint=tiny_knn_checkpoint.name, kind="knn")
    assert ModelVersion.objects.get(name=model_version.name).kind == ModelVersion.Kind.PLANET


def test_a_game_against_the_knn_model_plays_a_whole_round(panorama_set, tiny_knn_checkpoint):
    version = model_version_register(name="knn-tiny", checkpoint=tiny_knn_checkpoint, kind="knn")
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=1, model_version=version)
    served = round_serve(round=game.rounds.get(), player_key="p")  # the task runs in line (eager)
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.READY, served.model_error
    assert served.model_view == "served" and served.model_checkpoint_sha256 == version.checkpoint_sha256
    # The guess is the kNN model's answer on the exact bytes the player was served.
    alone = KnnPredictor(tiny_knn_checkpoint, device="cpu").predict(
        [image_open(key=round_view_key(round=served))], top_k=1
    )[0]
    assert (served.model_latitude, served.model_longitude) == pytest.approx((alone.latitude, alone.longitude))
    assert served.model_top_cells and all(0 < cell["probability"] <= 1 for cell in served.model_top_cells)
    truth = (served.panorama.latitude, served.panorama.longitude)
    result = guess_submit(round=served, player_key="p", latitude=0.0, longitude=0.0)
    assert result.guess.model_committed_first and result.guess.model_km is not None
    assert served.model_latitude is not None and served.model_longitude is not None
    assert result.guess.model_km == pytest.approx(distance_km(served.model_latitude, served.model_longitude, *truth))
    assert result.guess.model_km < 750, "the synthetic regions are far apart: retrieval finds the right one"


def test_a_knn_model_plays_what_was_registered_and_a_damaged_stored_copy_is_refused(
    panorama_set, synthetic_train, tmp_path, checkpoint_broken
):
    path = tmp_path / "knn.pt"
    knn_build(
        manifest=synthetic_train,
        out=path,
        backbone="efficientnet-lite0",
        image_size=64,
        k=5,
        t1=10,
        t2=2,
        cache_dir=None,
        quiet=True,
    )
    version = model_version_register(name="knn-tiny", checkpoint=path, kind="knn")
    # Rebuilt in place after registration: the store still holds (and the worker loads) what was registered.
    knn_build(
        manifest=synthetic_train,
        out=path,
        backbone="efficientnet-lite0",
        image_size=64,
        k=2,
        t1=10,
        t2=2,
        cache_dir=None,
        quiet=True,
    )
    game = game_create(panorama_set=panorama_set, owner_key="p", rounds=2, model_version=version)
    served = round_serve(round=game.rounds.get(number=1), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.READY
    assert served.model_checkpoint_sha256 == version.checkpoint_sha256 != file_sha256(path)

    checkpoint_broken(version, b"damaged")  # the stored object itself changed since
    services.predictor.cache_clear()
    checkpoint_local.cache_clear()
    served = round_serve(round=game.rounds.get(number=2), player_key="p")
    served.refresh_from_db()
    assert served.model_status == Round.ModelStatus.UNAVAILABLE
    assert "changed since registration" in served.model_error
