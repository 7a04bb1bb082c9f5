"""Issue 18's method pieces on the synthetic set: the GeoEstimation hierarchy folded into the fine logits (and
through ONNX), test-time augmentation, calibration and retrieval refinement inside the predicted cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.checkpoint import load_checkpoint
from planet_engine.config import VIEWS, TrainConfig
from planet_engine.data import view_transform
from planet_engine.hierarchy import HierarchicalHead, ancestor_map, fold_logits
from planet_engine.manifest import read_manifest
from planet_engine.predict import Predictor
from planet_engine.retrieval import Gallery, refine_points
from planet_engine.train import train


@pytest.fixture(scope="module")
def hierarchical(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Lite0 probe at 64 px over a fine partition and one coarser one, two test-time views, calibration 2."""
    folder = tmp_path_factory.mktemp("hierarchical")
    manifest = read_manifest(synthetic_train)
    for name, t1 in (("fine", 6), ("coarse", 30)):
        CellSet.from_partition(adaptive_partition(manifest.latitudes, manifest.longitudes, t1=t1, t2=2)).write_csv(
            folder / f"{name}.csv"
        )
    train(
        TrainConfig(
            manifest=str(synthetic_train),
            cells=str(folder / "fine.csv"),
            out=str(folder / "model.pt"),
            coarse_cells=[str(folder / "coarse.csv")],
            calibration=2.0,
            tta_views=["center", "flip"],
            image_size=64,
            epochs=15,
            lr=1e-2,
            weight_decay=1e-4,
            cache_dir=None,
            quiet=True,
        )
    )
    return folder / "model.pt"


def test_folded_fine_score_is_the_product_of_its_ancestors_probabilities():
    generator = torch.Generator().manual_seed(0)
    fine, coarse = torch.randn(3, 6, generator=generator), torch.randn(3, 2, generator=generator)
    ancestors = torch.tensor([0, 0, 0, 1, 1, 1])
    folded = fold_logits(fine, [coarse], [ancestors]).exp()  # (3, 6)
    expected = torch.softmax(fine, 1) * torch.softmax(coarse, 1)[:, ancestors]
    assert torch.allclose(folded, expected, atol=1e-6)


def test_each_fine_cell_sits_in_the_coarse_cell_holding_its_photos(synthetic_train):
    manifest = read_manifest(synthetic_train)
    fine = CellSet.from_partition(adaptive_partition(manifest.latitudes, manifest.longitudes, t1=6, t2=2))
    coarse = CellSet.from_partition(adaptive_partition(manifest.latitudes, manifest.longitudes, t1=30, t2=2))
    ancestors = ancestor_map(fine, coarse)
    assert len(fine) > len(coarse) and ancestors.min() >= 0 and ancestors.max() < len(coarse)
    photo_fine, photo_coarse = (
        fine.assign(manifest.latitudes, manifest.longitudes),
        coarse.assign(manifest.latitudes, manifest.longitudes),
    )
    both = (photo_fine >= 0) & (photo_coarse >= 0)
    assert (ancestors[photo_fine[both]] == photo_coarse[both]).mean() > 0.95


def test_a_head_without_levels_reads_checkpoints_written_before_hierarchies():
    head = HierarchicalHead(4, 3)
    linear = torch.nn.Linear(4, 3)
    head.load_state(linear.state_dict())
    features = torch.randn(2, 4)
    assert torch.allclose(head.eval()(features), linear(features))


def test_hierarchical_checkpoint_rebuilds_alone_and_calibrates(hierarchical, synthetic_test):
    loaded = load_checkpoint(hierarchical)
    assert len(loaded.payload["hierarchy"]) == 1 and loaded.config["calibration"] == 2.0
    assert len(loaded.model.head.levels) == 1
    features = torch.randn(3, loaded.model.spec.embedding_dim)
    levels = loaded.model.level_logits(features)
    ancestors = torch.tensor(loaded.payload["hierarchy"][0]["ancestors"])
    with torch.inference_mode():
        assert torch.allclose(
            loaded.model.classify(features), fold_logits(levels[0], levels[1:], [ancestors]) / 2, atol=1e-5
        )
    images = [row.path for row in read_manifest(synthetic_test).rows]
    guesses = Predictor(hierarchical, device="cpu").predict(images, top_k=2)
    errors = [
        abs(g.latitude - row.latitude) + abs(g.longitude - row.longitude)
        for g, row in zip(guesses, read_manifest(synthetic_test).rows, strict=True)
    ]
    assert np.median(errors) < 30  # the four synthetic regions told apart


def test_onnx_exports_the_folded_calibrated_network(hierarchical, synthetic_test):
    images = [row.path for row in read_manifest(synthetic_test).rows[:8]]
    torch_guesses = Predictor(hierarchical, device="cpu", backend="torch").predict(images, top_k=3)
    onnx_guesses = Predictor(hierarchical, device="cpu", backend="onnx", threads=1).predict(images, top_k=3)
    for a, b in zip(torch_guesses, onnx_guesses, strict=True):
        assert [c.token for c in a.top_cells] == [c.token for c in b.top_cells]
        assert np.allclose([c.probability for c in a.top_cells], [c.probability for c in b.top_cells], atol=1e-4)


def test_the_predictor_averages_the_checkpoints_test_time_views(hierarchical, synthetic_test, monkeypatch):
    predictor = Predictor(hierarchical, device="cpu")
    assert predictor.views == ["center", "flip"]
    images = [row.path for row in read_manifest(synthetic_test).rows[:4]]
    expected = np.mean(
        [predictor.probabilities_from_tensor(predictor.preprocess(images, view)) for view in ("center", "flip")], axis=0
    )
    assert np.allclose(predictor.probabilities(images), expected, atol=1e-6)
    # Both views of all four images go through the network in one forward pass.
    batches: list[tuple[int, ...]] = []
    forward = predictor.probabilities_from_tensor

    def recorded(batch: torch.Tensor) -> np.ndarray:
        batches.append(tuple(batch.shape))
        return forward(batch)

    monkeypatch.setattr(predictor, "probabilities_from_tensor", recorded)
    predictor.probabilities(images)
    assert [shape[0] for shape in batches] == [8]


def test_views_are_square_and_the_flip_mirrors_the_centre_crop():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 80, 3), dtype=np.uint8))
    tensors = {view: view_transform(image, 32, view) for view in VIEWS}
    assert all(t.shape == (3, 32, 32) for t in tensors.values())
    assert torch.allclose(view_transform(ImageOps.mirror(image), 32, "flip"), tensors["center"])
    assert not torch.allclose(tensors["left"], tensors["right"])
    with pytest.raises(ValueError):
        view_transform(image, 32, "upside-down")


def test_retrieval_refinement_moves_the_guess_to_similar_photos_inside_the_top_cells():
    # Two cells: cell 0 holds photos at (0, 0) and (0, 20); cell 1 (unlikely) one at (50, 50) that looks alike.
    embeddings = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.01]])
    gallery = Gallery.build(
        embeddings, np.array([0.0, 0.0, 50.0]), np.array([0.0, 20.0, 50.0]), np.array([0, 0, 1]), temperature=0.05
    )
    probabilities = np.array([[0.9, 0.1]])
    query = torch.tensor([[0.0, 1.0, 0.0]])  # looks like the second and third photos
    latitude, longitude = refine_points(probabilities, query, gallery, top_cells=1)
    assert (latitude[0], longitude[0]) == (0.0, 20.0)  # the similar photo, and only inside the top cell
    flat = Gallery.build(embeddings, gallery.latitudes, gallery.longitudes, gallery.cells, temperature=1e6)
    assert refine_points(np.array([[0.1, 0.9]]), query, flat, top_cells=2)[0][0] == 50.0  # the mass decides
