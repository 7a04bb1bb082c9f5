"""The ONNX graph beside a checkpoint: keyed by its sha256, checked against torch, and the Predictor's CPU
backend giving the same guesses as torch eager."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from planet_engine import onnx_export as onnx_module
from planet_engine.checkpoint import load_checkpoint
from planet_engine.manifest import read_manifest
from planet_engine.onnx_export import OnnxParityError, onnx_export, onnx_path
from planet_engine.predict import Predictor


@pytest.fixture
def checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, copy)
    return copy


def test_the_graph_is_keyed_by_the_checkpoint_hash_and_matches_torch(checkpoint, synthetic_test):
    loaded = load_checkpoint(checkpoint)
    images = [row.path for row in read_manifest(synthetic_test).rows[:6]]
    exported = onnx_export(loaded, checkpoint, images=images)
    assert (
        exported.path
        == onnx_path(checkpoint, loaded.sha256)
        == checkpoint.with_name(f"model.{loaded.sha256[:16]}.onnx")
    )
    assert exported.images_checked == 8 and 0 <= exported.max_abs_logit_diff <= 1e-3
    modified = exported.path.stat().st_mtime_ns
    assert onnx_export(loaded, checkpoint, images=images).path.stat().st_mtime_ns == modified  # reused


def test_onnx_and_torch_predictors_agree(checkpoint, synthetic_test):
    images = [row.path for row in read_manifest(synthetic_test).rows]
    torch_guesses = Predictor(checkpoint, device="cpu", backend="torch").predict(images, top_k=3)
    onnx_predictor = Predictor(checkpoint, device="cpu", backend="onnx", threads=1)  # exports on first use
    assert onnx_predictor.backend == "onnx" and onnx_path(checkpoint, onnx_predictor.checkpoint_sha256).is_file()
    onnx_guesses = onnx_predictor.predict(images, top_k=3)
    for a, b in zip(torch_guesses, onnx_guesses, strict=True):
        assert [c.token for c in a.top_cells] == [c.token for c in b.top_cells]
        assert (a.latitude, a.longitude) == (b.latitude, b.longitude)
        assert np.allclose([c.probability for c in a.top_cells], [c.probability for c in b.top_cells], atol=1e-4)
    assert Predictor(checkpoint, device="cpu", backend="auto").backend == "onnx"  # no GPU here


def test_an_onnx_predictor_builds_the_torch_network_only_when_asked(checkpoint, synthetic_test):
    images = [row.path for row in read_manifest(synthetic_test).rows[:4]]
    Predictor(checkpoint, device="cpu", backend="onnx", threads=1)  # exports the graph
    predictor = Predictor(checkpoint, device="cpu", backend="onnx", threads=1)
    guesses = predictor.predict(images, top_k=1)
    assert predictor._network is None  # the worker's case: the graph holds the weights
    embedded = predictor.model.embed(predictor.preprocess(images))  # an album's base model still embeds
    assert embedded.shape[0] == len(images) and len(guesses) == len(images)


def test_a_graph_that_computes_something_else_is_refused_and_removed(checkpoint, tiny_checkpoint, monkeypatch):
    loaded = load_checkpoint(checkpoint)
    with torch.no_grad():
        for parameter in loaded.model.head.parameters():
            parameter.add_(0.5)  # the graph is exported from these weights...
    onnx_export(loaded, checkpoint, images=[])
    fresh = load_checkpoint(checkpoint)  # ...and checked against the checkpoint's own
    onnx_module.onnx_path(checkpoint, fresh.sha256).unlink()
    monkeypatch.setattr(torch.onnx, "export", _export_from(loaded.model))
    with pytest.raises(OnnxParityError, match="differs"):
        onnx_export(fresh, checkpoint, images=[])
    assert not onnx_path(checkpoint, fresh.sha256).exists()


def _export_from(model: torch.nn.Module):
    original = torch.onnx.export

    def export(_ignored: torch.nn.Module, *args: Any, **kwargs: Any) -> object:
        return original(model, *args, **kwargs)

    return export
