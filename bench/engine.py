"""Engine benchmark: partition throughput, predictor overhead and training step rates on this machine.

Speed targets live here, never in unit tests. Every number is the median of repeated timings after a
warm-up; the predictor's bare-model and end-to-end timings are interleaved so that load drifting on a
shared machine hits both alike.

    .venv/bin/python bench/engine.py              # full run, ~2-3 minutes on a 2-core CPU
    .venv/bin/python bench/engine.py --quick      # ~30 s smoke run (smaller sizes, lite0 only)
    .venv/bin/python bench/engine.py --json out.json

Results and the machine they were measured on: bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import s2sphere  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402

from planet_engine.cells import CellSet, adaptive_partition, leaf_cell_ids  # noqa: E402
from planet_engine.checkpoint import build_payload, save_checkpoint  # noqa: E402
from planet_engine.data import ImageDataset, load_image, to_tensor  # noqa: E402
from planet_engine.manifest import read_manifest  # noqa: E402
from planet_engine.model import GeoClassifier  # noqa: E402
from planet_engine.predict import Predictor, point_guesses  # noqa: E402
from planet_engine.train import TrainConfig, _config_record  # noqa: E402

# Goals from the issue.
PARTITION_GOAL_POINTS_PER_S = 100_000
PREDICT_OVERHEAD_GOAL = 0.25
BATCH = 8  # predictor batch: on CPU, batches past 8 are slower per image
FINETUNE_BATCH = 16
PROBE_BATCH = 64


@dataclass(frozen=True)
class Sizes:
    partition_points: int
    s2sphere_points: int
    partition_repeats: int
    predictor_backbones: tuple[str, ...]
    predictor_repeats: int
    train_images: int
    finetune_warmup: int
    finetune_steps: int
    probe_rows: int
    probe_repeats: int


FULL = Sizes(1_000_000, 20_000, 5, ("efficientnet-lite0", "efficientnet-lite2"), 21, 64, 2, 16, 8192, 7)
QUICK = Sizes(1_000_000, 5_000, 3, ("efficientnet-lite0",), 8, 32, 1, 4, 4096, 3)


# ----------------------------------------------------------------------------------------------- helpers

def timings(fn: Callable[[], Any], *, warmup: int, repeats: int) -> list[float]:
    """Seconds per call of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    result = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        result.append(time.perf_counter() - start)
    return result


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def cpu_counters() -> tuple[float, float, float] | None:
    """(CPU-seconds the machine has been busy, CPU-seconds stolen by the hypervisor, CPU-seconds this
    process has used), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    own = os.times()
    return ((user + nice + system + irq + softirq) / ticks, steal / ticks,
            own.user + own.system + own.children_user + own.children_system)


def sphere_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform on the sphere, in degrees."""
    xyz = rng.normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    return np.degrees(np.arcsin(xyz[:, 2])), np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))


def photo_like_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Half uniform, half around 40 'cities' (sigma 3°): partitions (t1=250, t2=25) into ~500 cells."""
    lat, lon = sphere_points(rng, n)
    city_lat, city_lon = sphere_points(rng, 40)
    m = n // 2
    city = rng.integers(0, 40, m)
    lat[:m] = np.clip(city_lat[city] + rng.normal(0, 3, m), -89.9, 89.9)
    lon[:m] = (city_lon[city] + rng.normal(0, 3, m) + 180.0) % 360.0 - 180.0
    return lat, lon


def photo_jpeg(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A photo-like JPEG (sky gradient, textured ground, 'buildings', sensor noise, q=88): photo-sized files
    (~100 KB at 1024x768) that decode like real ones, unlike flat synthetic images."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    sky = np.array([110, 160, 230], np.float32) * (1 - y) + np.array([200, 220, 240], np.float32) * y
    ground = np.array([80, 110, 60], np.float32) + 40 * np.sin(x * rng.uniform(5, 30) + y * rng.uniform(3, 10))
    horizon = rng.uniform(0.35, 0.6)
    image = np.where(y < horizon, sky, ground)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    for _ in range(int(rng.integers(3, 9))):
        left, w = int(rng.integers(0, width - 20)), int(rng.integers(20, width // 4))
        top = int(rng.integers(int(height * 0.15), int(height * horizon) + 1))
        image[top:int(height * horizon) + 20, left:left + w] = rng.uniform(60, 220, 3)
    image += rng.normal(0, 18, (height, width, 3)).astype(np.float32)
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    pil.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    """JPEG bytes -> a decoded image held in memory, as a server holds an upload it has opened."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# ----------------------------------------------------------------------------------------------- partition

def bench_partition(sizes: Sizes, rng: np.random.Generator) -> dict[str, Any]:
    n = sizes.partition_points
    lat, lon = sphere_points(rng, n)
    partition_s = timings(lambda: adaptive_partition(lat, lon, t1=1000, t2=100),
                          warmup=1, repeats=sizes.partition_repeats)
    leaf_s = timings(lambda: leaf_cell_ids(lat, lon), warmup=1, repeats=sizes.partition_repeats)
    cells = adaptive_partition(lat, lon, t1=1000, t2=100).num_cells

    m = sizes.s2sphere_points
    pairs = list(zip(lat[:m].tolist(), lon[:m].tolist()))

    def pure_python() -> None:
        for a, b in pairs:
            s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b))

    s2_s = timings(pure_python, warmup=1, repeats=3)
    # Same answers, so the comparison is between equals.
    expected = np.array([s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b)).id()
                         for a, b in pairs[:2000]], dtype=np.uint64)
    assert np.array_equal(leaf_cell_ids(lat[:2000], lon[:2000]), expected), "leaf_cell_ids != s2sphere"
    rate = n / median(partition_s)
    return {
        "points": n, "t1": 1000, "t2": 100, "cells": cells,
        "adaptive_partition_s": median(partition_s), "adaptive_partition_points_per_s": rate,
        "leaf_cell_ids_s": median(leaf_s), "leaf_cell_ids_points_per_s": n / median(leaf_s),
        "s2sphere_points": m, "s2sphere_s": median(s2_s), "s2sphere_points_per_s": m / median(s2_s),
        "goal_points_per_s": PARTITION_GOAL_POINTS_PER_S, "pass": rate >= PARTITION_GOAL_POINTS_PER_S,
    }


# ----------------------------------------------------------------------------------------------- predictor

def make_cells(rng: np.random.Generator) -> tuple[CellSet, np.ndarray, np.ndarray, np.ndarray]:
    lat, lon = photo_like_points(rng, 50_000)
    partition = adaptive_partition(lat, lon, t1=250, t2=25)
    return CellSet.from_partition(partition), lat, lon, partition.assignment


def write_checkpoint(folder: Path, backbone: str, cells: CellSet) -> Path:
    """A real linear-probe checkpoint, its config record made by train.py itself."""
    model = GeoClassifier(backbone, len(cells), pretrained=True)
    config = TrainConfig(manifest="bench/manifest.csv", cells="bench/cells.csv", out=str(folder / "x.pt"),
                         backbone=backbone, pretrained=True, trainable="head")
    record = _config_record(config, model.spec.image_size)
    path = folder / f"{backbone}.pt"
    save_checkpoint(path, build_payload(model=model, cells=cells, config=record, extra={"bench": True}))
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
        "preprocess.fit_resize": stage(lambda: [ImageOps.fit(image, (size, size),
                                                             method=Image.Resampling.BILINEAR)
                                                for image in converted]),
        "preprocess.to_tensor": stage(lambda: [to_tensor(image) for image in fitted]),
        "preprocess.stack": stage(lambda: torch.stack(tensors)),
        "softmax_to_numpy": stage(lambda: torch.softmax(logits.float(), dim=1).cpu().numpy()),
        "point_guesses_geoscore": stage(lambda: point_guesses(probabilities, predictor.cells, "geoscore")),
        "postprocess_warm": stage(lambda: predictor.predictions_from_probabilities(
            probabilities, top_k=5, distribution=False)),
        "postprocess_cold_polygons": stage(cold_post),
    }
    # Differences of medians: clamped, as noise can make a near-zero one negative.
    warm, cold = stages["postprocess_warm"], stages["postprocess_cold_polygons"]
    stages["postprocess.topk_polygons_warm"] = max(0.0, warm - stages["point_guesses_geoscore"])
    stages["polygons_cold_extra"] = max(0.0, cold - warm)
    overhead = (t_predict - t_bare) / t_bare
    return {
        "backbone": backbone, "image_size": size, "batch": BATCH, "cells": len(predictor.cells),
        "input_image": f"{images[0].width}x{images[0].height} decoded JPEG", "repeats": repeats,
        "bare_s_per_batch": t_bare, "predict_s_per_batch": t_predict,
        "bare_images_per_s": BATCH / t_bare, "predict_images_per_s": BATCH / t_predict,
        "bare_s_min": min(bare_s), "predict_s_min": min(predict_s),
        "bare_s_all": bare_s, "predict_s_all": predict_s,
        "overhead": overhead, "overhead_from_min": (min(predict_s) - min(bare_s)) / min(bare_s),
        # Each predict() against the bare run just before it: robust to the machine slowing mid-run.
        "overhead_paired_median": median([b / a - 1 for a, b in zip(bare_s, predict_s)]),
        "stages_s_per_batch": stages,
        "goal_overhead": PREDICT_OVERHEAD_GOAL, "pass": overhead <= PREDICT_OVERHEAD_GOAL,
    }


# ----------------------------------------------------------------------------------------------- training

def write_training_set(folder: Path, rng: np.random.Generator, count: int, lat: np.ndarray, lon: np.ndarray,
                       assignment: np.ndarray) -> Path:
    """`count` 640x480 JPEGs at photo locations that fall in kept cells, and their manifest."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    chosen = rng.choice(np.flatnonzero(assignment >= 0), size=count, replace=False)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude"])
        for k, row in enumerate(chosen):
            name = f"images/{k:04d}.jpg"
            (folder / name).write_bytes(photo_jpeg(rng, 640, 480))
            writer.writerow([name, f"{lat[row]:.6f}", f"{lon[row]:.6f}"])
    return manifest


def bench_training(sizes: Sizes, cells: CellSet, manifest_path: Path, num_workers: int) -> dict[str, Any]:
    manifest = read_manifest(manifest_path)
    labels = torch.from_numpy(cells.assign(manifest.latitudes, manifest.longitudes))
    assert bool((labels >= 0).all()), "training photos must fall in kept cells"
    backbone = "efficientnet-lite0"
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as train.py's default (deterministic=True)
    try:
        # Fine-tuning, as train.py's _finetune_epochs runs it on CPU (no autocast, AdamW, cross-entropy).
        model = GeoClassifier(backbone, len(cells), pretrained=True)
        size = model.spec.image_size
        model.set_trainable("last")
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3,
                                      weight_decay=0.05)
        dataset = ImageDataset(manifest.image_paths, size, train=True, seed=0)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=FINETUNE_BATCH, shuffle=True, num_workers=num_workers,
            generator=torch.Generator().manual_seed(0), persistent_workers=num_workers > 0,
        )
        model.train()

        def step(images: torch.Tensor, index: torch.Tensor) -> None:
            logits = model(images)
            loss = F.cross_entropy(logits.float(), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            float(loss.detach()), int((logits.argmax(1) == labels[index]).sum())  # train.py's bookkeeping

        def batches() -> Any:
            epoch = 0
            while True:
                dataset.epoch = epoch
                yield from loader
                epoch += 1

        # The same batches pre-decoded in memory: one epoch's worth, cycled.
        cached = [(images.clone(), index.clone()) for images, index in loader]
        stream = batches()
        load_s, loaded_step_s, cached_step_s = [], [], []
        for k in range(sizes.finetune_warmup + sizes.finetune_steps):
            # Interleaved: one step fed by the DataLoader (its decode + crop timed), one from memory.
            start = time.perf_counter()
            images, index = next(stream)
            fetched = time.perf_counter()
            step(images, index)
            done = time.perf_counter()
            step(*cached[k % len(cached)])
            cached_done = time.perf_counter()
            if k >= sizes.finetune_warmup:
                load_s.append(fetched - start)
                loaded_step_s.append(done - start)
                cached_step_s.append(cached_done - done)
        t_loaded, t_cached = median(loaded_step_s), median(cached_step_s)

        # Linear probe on cached embeddings: head only, batch 64, as _linear_probe_epochs.
        probe = GeoClassifier(backbone, len(cells), pretrained=False)
        probe.set_trainable("head")
        probe_optimizer = torch.optim.AdamW([p for p in probe.parameters() if p.requires_grad], lr=3e-3,
                                            weight_decay=0.05)
        generator = torch.Generator().manual_seed(0)
        embeddings = torch.rand(sizes.probe_rows, probe.spec.embedding_dim, generator=generator)
        probe_labels = torch.randint(0, len(cells), (sizes.probe_rows,), generator=generator)
        probe.train()

        def probe_epoch() -> None:
            order = torch.randperm(len(embeddings), generator=generator)
            for start in range(0, len(order), PROBE_BATCH):
                batch = order[start:start + PROBE_BATCH]
                logits = probe.classify(embeddings[batch])
                loss = F.cross_entropy(logits, probe_labels[batch])
                probe_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                probe_optimizer.step()
                float(loss.detach()), int((logits.argmax(1) == probe_labels[batch]).sum())

        steps_per_epoch = -(-sizes.probe_rows // PROBE_BATCH)
        t_probe = median(timings(probe_epoch, warmup=1, repeats=sizes.probe_repeats)) / steps_per_epoch
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    return {
        "backbone": backbone, "image_size": size, "cells": len(cells), "trainable": "last",
        "train_images": len(manifest), "jpeg": "640x480", "num_workers": num_workers,
        "finetune_batch": FINETUNE_BATCH, "finetune_steps_timed": sizes.finetune_steps,
        "finetune_jpeg_s_per_step": t_loaded, "finetune_jpeg_steps_per_s": 1 / t_loaded,
        "finetune_jpeg_images_per_s": FINETUNE_BATCH / t_loaded,
        "finetune_load_s_per_batch": median(load_s),
        "finetune_cached_s_per_step": t_cached, "finetune_cached_steps_per_s": 1 / t_cached,
        "finetune_cached_images_per_s": FINETUNE_BATCH / t_cached,
        "probe_batch": PROBE_BATCH, "probe_s_per_step": t_probe, "probe_steps_per_s": 1 / t_probe,
        "probe_images_per_s": PROBE_BATCH / t_probe,
    }


# ----------------------------------------------------------------------------------------------- report

def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def report(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        f"engine benchmark ({'quick' if results['quick'] else 'full'}): torch {env['torch']}, "
        f"{env['torch_threads']} threads, {env['cpu_count']} CPUs ({env['cpu_model']}), "
        f"load {env['load_before']} -> {env['load_after']}, other processes {env['other_processes_cores']} cores, "
        f"steal {env['steal_cores']} cores, {results['seconds']:.0f} s",
        "",
        f"{'measurement':<48}{'result':>16}  {'goal':<14}status",
        "-" * 86,
    ]

    def row(name: str, value: str, goal: str = "", status: str = "") -> None:
        lines.append(f"{name:<48}{value:>16}  {goal:<14}{status}")

    p = results["partition"]
    row(f"adaptive_partition, {p['points']:,} pts (t1 1000, t2 100)",
        f"{fmt_rate(p['adaptive_partition_points_per_s'])} pts/s", f">= {fmt_rate(p['goal_points_per_s'])} pts/s",
        "PASS" if p["pass"] else "FAIL")
    row(f"  leaf_cell_ids alone ({p['points']:,} pts)", f"{fmt_rate(p['leaf_cell_ids_points_per_s'])} pts/s")
    row(f"  s2sphere CellId.from_lat_lng ({p['s2sphere_points']:,} pts)",
        f"{fmt_rate(p['s2sphere_points_per_s'])} pts/s")
    for r in results["predictor"]:
        name = r["backbone"].replace("efficientnet-", "")
        row(f"{name} {r['image_size']}px bare embed+head, batch {r['batch']}",
            f"{r['bare_images_per_s']:.1f} img/s")
        row(f"{name} Predictor.predict (PIL {r['input_image'].split()[0]}, top 5)",
            f"{r['predict_images_per_s']:.1f} img/s")
        row(f"{name} predictor overhead", f"{100 * r['overhead']:+.1f}%", f"<= {100 * r['goal_overhead']:.0f}%",
            "PASS" if r["pass"] else "FAIL")
        s = r["stages_s_per_batch"]
        row("  of which preprocess / postprocess (ms/batch)",
            f"{1e3 * s['preprocess']:.1f} / {1e3 * s['postprocess_warm']:.1f}")
        row("  preprocess: convert / fit / to_tensor (ms)",
            f"{1e3 * s['preprocess.load_image_convert']:.1f} / {1e3 * s['preprocess.fit_resize']:.1f} / "
            f"{1e3 * s['preprocess.to_tensor']:.1f}")
        row("  geoscore points / cold polygons extra (ms)",
            f"{1e3 * s['point_guesses_geoscore']:.1f} / {1e3 * s['polygons_cold_extra']:.1f}")
    t = results["training"]
    row(f"fine-tune lite0 'last', batch {t['finetune_batch']}, from JPEG files",
        f"{t['finetune_jpeg_images_per_s']:.1f} img/s")
    row(f"  steps/s; DataLoader ms/batch ({t['num_workers']} workers)",
        f"{t['finetune_jpeg_steps_per_s']:.2f} / {1e3 * t['finetune_load_s_per_batch']:.0f} ms")
    row(f"fine-tune lite0 'last', batch {t['finetune_batch']}, cached tensors",
        f"{t['finetune_cached_images_per_s']:.1f} img/s")
    row("  steps/s", f"{t['finetune_cached_steps_per_s']:.2f}")
    row(f"linear probe on embeddings, batch {t['probe_batch']}, {t['cells']} cells",
        f"{fmt_rate(t['probe_images_per_s'])} img/s")
    row("  steps/s", f"{t['probe_steps_per_s']:.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~30 s smoke run: smaller sizes, lite0 only")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--num-workers", type=int, default=0,
                        help="DataLoader workers for the fine-tuning benchmark (train.py's default: 0)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_before = load_average()
    counters_before = cpu_counters()
    if load_before is not None and load_before > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_before:.2f} before starting; timings will be noisy",
              file=sys.stderr)
    rng = np.random.default_rng(args.seed)

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    say(f"partition: {sizes.partition_points:,} points")
    partition = bench_partition(sizes, rng)
    cells, lat, lon, assignment = make_cells(rng)
    predictor_results = []
    with tempfile.TemporaryDirectory(prefix="planet-bench-") as temporary:
        folder = Path(temporary)
        images = [decoded(photo_jpeg(rng, 1024, 768)) for _ in range(BATCH)]
        for backbone in sizes.predictor_backbones:
            say(f"predictor: {backbone}, {len(cells)} cells")
            checkpoint = write_checkpoint(folder, backbone, cells)
            predictor_results.append(bench_predictor(backbone, checkpoint, images, sizes.predictor_repeats))
        say(f"training: {sizes.train_images} JPEGs")
        manifest = write_training_set(folder / "train", rng, sizes.train_images, lat, lon, assignment)
        training = bench_training(sizes, cells, manifest, args.num_workers)
    load_after = load_average()
    counters_after = cpu_counters()
    seconds = time.perf_counter() - started
    # CPU other processes took while this ran, and CPU the hypervisor gave to other VMs (steal): the
    # honest noise figures on a shared 2-core box.
    others = steal = None
    if counters_before is not None and counters_after is not None:
        busy, stolen, own = (after - before for after, before in zip(counters_after, counters_before))
        others, steal = max(0.0, busy - own) / seconds, stolen / seconds
    results = {
        "quick": args.quick,
        "environment": {
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(), "python": platform.python_version(), "numpy": np.__version__,
            "load_before": None if load_before is None else round(load_before, 2),
            "load_after": None if load_after is None else round(load_after, 2),
            "other_processes_cores": None if others is None else round(others, 3),
            "steal_cores": None if steal is None else round(steal, 3),
        },
        "partition": partition, "predictor": predictor_results, "training": training,
        "seconds": seconds,
    }
    print(report(results))
    if (others or 0.0) + (steal or 0.0) > 0.1:
        print(f"warning: other processes used {others:.2f} cores and the hypervisor stole {steal:.2f} on "
              "average during the run; rerun on a quiet machine for numbers to publish", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
