"""Engine benchmark: partition throughput, predictor overhead and training step rates on this machine.

The command line of `python -m bench.engine` (what it measures and how: bench/engine/__init__.py): the three
benchmarks in turn, the machine's noise around them, the table and the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.engine.partition import bench_partition
from bench.engine.predictor import BATCH, bench_predictor, make_cells, write_checkpoint
from bench.engine.report import report
from bench.engine.streaming import bench_streaming
from bench.engine.training import bench_training, write_training_set
from bench.engine.workload import FULL, QUICK, decoded, photo_jpeg
from bench.machine import load_average, machine_cpu_seconds


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_counters() -> tuple[float, float, float] | None:
    """(CPU-seconds the machine has been busy, CPU-seconds stolen by the hypervisor, CPU-seconds this
    process has used), or None off Linux."""
    machine = machine_cpu_seconds()
    if machine is None:
        return None
    own = os.times()
    return (*machine, own.user + own.system + own.children_user + own.children_system)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~30 s smoke run: smaller sizes, lite0 only")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="DataLoader workers for the fine-tuning benchmark (train.py's default: 0)",
    )
    parser.add_argument(
        "--stream-workers",
        type=int,
        default=0,
        help="DataLoader workers for the streaming benchmark (train's default: 0)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_before = load_average()
    counters_before = cpu_counters()
    if load_before is not None and load_before > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_before:.2f} before starting; timings will be noisy", file=sys.stderr)
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
        say(f"streaming: the same JPEGs as WebDataset shards, {args.stream_workers} data-loader worker(s)")
        streaming = bench_streaming(sizes, cells, manifest, args.stream_workers)
    load_after = load_average()
    counters_after = cpu_counters()
    seconds = time.perf_counter() - started
    # CPU other processes took while this ran, and CPU the hypervisor gave to other VMs (steal): the
    # honest noise figures on a shared 2-core box.
    others = steal = None
    if counters_before is not None and counters_after is not None:
        busy, stolen, own = (after - before for after, before in zip(counters_after, counters_before, strict=True))
        others, steal = max(0.0, busy - own) / seconds, stolen / seconds
    results = {
        "quick": args.quick,
        "environment": {
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "load_before": None if load_before is None else round(load_before, 2),
            "load_after": None if load_after is None else round(load_after, 2),
            "other_processes_cores": None if others is None else round(others, 3),
            "steal_cores": None if steal is None else round(steal, 3),
        },
        "partition": partition,
        "predictor": predictor_results,
        "training": training,
        "streaming": streaming,
        "seconds": seconds,
    }
    print(report(results))
    if (others or 0.0) + (steal or 0.0) > 0.1:
        print(
            f"warning: other processes used {others:.2f} cores and the hypervisor stole {steal:.2f} on "
            "average during the run; rerun on a quiet machine for numbers to publish",
            file=sys.stderr,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0
