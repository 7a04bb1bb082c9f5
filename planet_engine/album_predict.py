"""AlbumPredictor: a group of views of one place -> one Prediction from PlaNet's album LSTM (album.py) instead of
the mean of the views' log-probabilities (predict.views_combine, still the default everywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from planet_engine.album import album_probabilities, load_album, view_inputs
from planet_engine.data import ImageInput, load_image
from planet_engine.predict import Prediction, Predictor


class AlbumPredictor:
    """Loads an album checkpoint beside the base PlaNet checkpoint it was trained on (any other is refused);
    predicts groups of views as Predictor does (point guess, top cells with probabilities)."""

    def __init__(
        self,
        album: str | Path,
        *,
        base: str | Path,
        device: str = "cpu",
        point_mode: str = "geoscore",
        batch_size: int = 32,
    ) -> None:
        # The torch backend: the album reads the backbone's embeddings, which the ONNX graph does not output.
        self.base = Predictor(base, device=device, point_mode=point_mode, batch_size=batch_size, backend="torch")
        loaded = load_album(album, base_sha256=self.base.checkpoint_sha256, base_cells=self.base.cells)
        self.model = loaded.model
        self.settings = loaded.settings
        self.checkpoint_sha256 = loaded.sha256
        self.cells = self.base.cells

    @torch.inference_mode()
    def view_inputs(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """Images -> (N, F) album inputs from their centre crops, as album_train computed them."""
        chunks = []
        for start in range(0, len(images), self.base.batch_size):
            decoded = [load_image(image) for image in images[start : start + self.base.batch_size]]
            batch = self.base.preprocess(decoded, "center").to(self.base.device)
            chunks.append(self.base.model.embed(batch).float())  # (b, D)
        return view_inputs(self.base.model, torch.cat(chunks), self.settings.input).cpu()

    def probabilities_of_groups(self, groups: Sequence[Sequence[ImageInput]]) -> np.ndarray:
        """Groups of views -> (G, C) the album's distribution of each group; all views share the forward batches."""
        if any(not group for group in groups):
            raise ValueError("every group needs at least one view")
        inputs = self.view_inputs([image for group in groups for image in group])  # (sum V, F)
        ends = np.cumsum([len(group) for group in groups])
        return album_probabilities(
            self.model, [inputs[end - len(group) : end] for group, end in zip(groups, ends, strict=True)]
        )

    def predict_groups(
        self,
        groups: Sequence[Sequence[ImageInput]],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> list[Prediction]:
        """One Prediction per group of views of one place (as Predictor.predict_groups), from the LSTM."""
        probabilities = self.probabilities_of_groups(groups)
        predictions = self.base.predictions_from_probabilities(
            probabilities, top_k=top_k, distribution=distribution, polygon_points_per_edge=polygon_points_per_edge
        )
        # The album checkpoint names the model that guessed (it pins its base by hash).
        return [
            Prediction(
                latitude=p.latitude,
                longitude=p.longitude,
                top_cells=p.top_cells,
                point_mode=p.point_mode,
                checkpoint_sha256=self.checkpoint_sha256,
                distribution=p.distribution,
            )
            for p in predictions
        ]

    def predict_views(
        self,
        views: Sequence[ImageInput],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> Prediction:
        return self.predict_groups(
            [views], top_k=top_k, distribution=distribution, polygon_points_per_edge=polygon_points_per_edge
        )[0]

    def predict(
        self,
        images: Sequence[ImageInput],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> list[Prediction]:
        """Each image alone, as a place of one view."""
        return self.predict_groups(
            [[image] for image in images],
            top_k=top_k,
            distribution=distribution,
            polygon_points_per_edge=polygon_points_per_edge,
        )
