"""bench/engine's predictor overhead: Predictor.predict end to end against the bare network on the same batch,
interleaved, and where the difference goes stage by stage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from bench.engine.workload import median, photo_like_points, timings
from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.checkpoint import build_payload, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import load_image, to_tensor
from planet_engine.model import GeoClassifier
from planet_engine.predict import Predictor, point_guesses
from planet_engine.train import config_record

PREDICT_OVERHEAD_GOAL = 0.25
BATCH = 8  # predictor batch: on CPU, batches past 8 are slower per image


def make_cells(rng: np.random.Generator) -> tuple[CellSet, np.ndarray, np.ndarray, np.ndarray]:
    lat, lon = photo_like_points(rng, 50_000)
    partition = adaptive_partition(lat, lon, t1=250, t2=25)
    return CellSet.from_partition(partition), lat, lon, partition.assignment


def write_checkpoint(folder: Path, backbone: str, cells: CellSet) -> Path:
    """A real linear-probe checkpoint, its config record made by train.py itself."""
    model = GeoClassifier(backbone, len(cells), pretrained=True)
    config = TrainConfig(
        manifest="bench/manifest.csv",
        cells="bench/cells.csv",
        out=str(folder / "x.pt"),
        backbone=backbone,
        pretrained=True,
        trainable="head",
    )
    record = config_record(config, model.spec.image_size)
    path = folder / f"{backbone}.pt"
    save_checkpoint(path, build_payload(model=model, cells=cells, config=record, extra={}))
    return path


def bench_predictor(backbone: str, checkpoint: Path, images: list[Image.Image], repeats: int) -> dict[str, Any]:
    predictor = Predictor(checkpoint, device="cpu", point_mode="geoscore", batch_size=BATCH)
    model, size = predictor.model, predictor.image_size
    batch = predictor.preprocess(images)  # (8, 3, S, S), made once: the bare model never sees PIL images

    def bare() -> None:
        with torch.inference_mode():
            model.classify(model.embed(batch))

    def end_to_end() -> None:
        predictions = predictor.predict(images, top_k=5)
        assert len(predictions) == len(images) and len(predictions[0].top_cells) == 5

    # Interleaved: (bare, predict) pairs, so a burst of load from elsewhere lands on both.
    for _ in range(2):
        bare()
        end_to_end()
    bare_s, predict_s = [], []
    for _ in range(repeats):
        bare_s += timings(bare, warmup=0, repeats=1)
        predict_s += timings(end_to_end, warmup=0, repeats=1)
    t_bare, t_predict = median(bare_s), median(predict_s)

    # Where the difference goes: each stage of predict() timed alone, per batch of 8.
    stage_repeats = max(3, repeats // 2)
    converted = [load_image(image) for image in images]
    fitted = [ImageOps.fit(image, (size, size), method=Image.Resampling.BILINEAR) for image in converted]
    tensors = [to_tensor(image) for image in fitted]
    probabilities = predictor.probabilities_from_tensor(batch)
    with torch.inference_mode():
        logits = model(batch)

    def cold_post() -> None:
        predictor._polygons.clear()  # what the first request for a cell pays
        predictor.predictions_from_probabilities(probabilities, top_k=5, distribution=False)

    def stage(fn: Callable[[], Any]) -> float:
        return median(timings(fn, warmup=1, repeats=stage_repeats))

    stages = {
        "preprocess": stage(lambda: predictor.preprocess(images)),
        "preprocess.load_image_convert": stage(lambda: [load_image(image) for image in images]),
        "preprocess.fit_resize": stage(
            lambda: [ImageOps.fit(image, (size, size), method=Image.Resampling.BILINEAR) for image in converted]
        ),
        "preprocess.to_tensor": stage(lambda: [to_tensor(image) for image in fitted]),
        "preprocess.stack": stage(lambda: torch.stack(tensors)),
        "softmax_to_numpy": stage(lambda: torch.softmax(logits.float(), dim=1).cpu().numpy()),
        "point_guesses_geoscore": stage(lambda: point_guesses(probabilities, predictor.cells, "geoscore")),
        "postprocess_warm": stage(
            lambda: predictor.predictions_from_probabilities(probabilities, top_k=5, distribution=False)
        ),
        "postprocess_cold_polygons": stage(cold_post),
    }
    # Differences of medians: clamped, as noise can make a near-zero one negative.
    warm, cold = stages["postprocess_warm"], stages["postprocess_cold_polygons"]
    stages["postprocess.topk_polygons_warm"] = max(0.0, warm - stages["point_guesses_geoscore"])
    stages["polygons_cold_extra"] = max(0.0, cold - warm)
    overhead = (t_predict - t_bare) / t_bare
    return {
        "backbone": backbone,
        "image_size": size,
        "batch": BATCH,
        "cells": len(predictor.cells),
        "input_image": f"{images[0].width}x{images[0].height} decoded JPEG",
        "repeats": repeats,
        "bare_s_per_batch": t_bare,
        "predict_s_per_batch": t_predict,
        "bare_images_per_s": BATCH / t_bare,
        "predict_images_per_s": BATCH / t_predict,
        "bare_s_min": min(bare_s),
        "predict_s_min": min(predict_s),
        "bare_s_all": bare_s,
        "predict_s_all": predict_s,
        "overhead": overhead,
        "overhead_from_min": (min(predict_s) - min(bare_s)) / min(bare_s),
        # Each predict() against the bare run just before it: robust to the machine slowing mid-run.
        "overhead_paired_median": median([b / a - 1 for a, b in zip(bare_s, predict_s, strict=True)]),
        "stages_s_per_batch": stages,
        "goal_overhead": PREDICT_OVERHEAD_GOAL,
        "pass": overhead <= PREDICT_OVERHEAD_GOAL,
    }
