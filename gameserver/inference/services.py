"""The model a worker runs: each model version's predictor, loaded once per process (GPU when present) and
preloaded for the default version when the process starts. What it answers for a round is the games app's
(games/model_guess.py)."""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings

from gameserver.inference.checkpoints import checkpoint_local
from gameserver.inference.models import ModelVersion
from planet_engine.errors import CheckpointError

if TYPE_CHECKING:
    from planet_engine.knn import KnnPredictor
    from planet_engine.predict import Predictor

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def predictor(checkpoint_path: str) -> Predictor | KnnPredictor:
    """One predictor per checkpoint per process (GPU when present), PlaNet's or the kNN model's as the file says
    (registration checked its kind; the sha256 check guards it since); CheckpointError if missing or corrupt.
    The engine (torch, ONNX Runtime) is imported here, by the process that loads a model: a web process never
    imports it (about 1.3 s and some hundreds of MB each)."""
    from planet_engine import predict
    from planet_engine.knn import KnnPredictor, is_knn_checkpoint

    started = time.perf_counter()
    loaded: Predictor | KnnPredictor
    if is_knn_checkpoint(checkpoint_path):
        loaded = KnnPredictor(checkpoint_path, batch_size=settings.INFERENCE_BATCH)
    else:
        loaded = predict.Predictor(
            checkpoint_path,
            batch_size=settings.INFERENCE_BATCH,
            backend=settings.INFERENCE_BACKEND,
            threads=settings.INFERENCE_THREADS or None,
        )
    logger.info(
        "loaded model %s (sha256 %s) on %s (%s) in %.1f s",
        checkpoint_path,
        loaded.checkpoint_sha256[:12],
        loaded.device,
        loaded.backend,
        time.perf_counter() - started,
    )
    return loaded


def version_predictor(*, version: ModelVersion) -> Predictor | KnnPredictor:
    """The version's predictor, from this machine's verified copy of its checkpoint (checkpoints.py)."""
    return predictor(str(checkpoint_local(sha256=version.checkpoint_sha256)))


def default_model_preload() -> None:
    """Load the default model when a worker process starts, so the first round does not pay for it."""
    version = ModelVersion.objects.filter(is_default=True).first()
    if version is None:
        logger.warning("no default model version registered: `python manage.py register_model`")
        return
    if version.kind == ModelVersion.Kind.EXTERNAL:
        return  # answers from stored rows: nothing to load
    try:
        version_predictor(version=version)
    except CheckpointError as error:
        logger.error(
            "default model %r cannot be loaded; its rounds will be marked unavailable: %s", version.name, error
        )
