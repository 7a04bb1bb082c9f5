"""The inference worker against its own limit, in the same run: rounds the worker answered per CPU-second it
used, against images the bare batched ONNX forward of the same checkpoint classifies per CPU-second (one
intra-op thread, as the worker runs; a batch of INFERENCE_BATCH random inputs, so no decoding or database work
is counted on the bare side). Counting CPU-seconds rather than wall time keeps the ratio fair on a machine
whose cores the web server, PostgreSQL and other people's jobs share."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from bench.load.measure import group_cpu_seconds
from bench.load.stack import Stack

BARE_BATCH = 16  # gameserver.settings.INFERENCE_BATCH's default
BARE_SECONDS = 5.0


class WorkerMeter:
    """The worker's CPU-seconds and the rounds answered by the model, from construction to `result()`."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.cpu = self.worker_cpu()
        self.answered = self.rounds_answered()

    def worker_cpu(self) -> float:
        groups = {name: pid for name, pid in self.stack.process_groups().items() if name == "worker"}
        return group_cpu_seconds(groups).get("worker", 0.0)

    def rounds_answered(self) -> int:
        with psycopg.connect(self.stack.database_url) as connection:
            row = connection.execute("SELECT count(*) FROM games_round WHERE model_ready_at IS NOT NULL").fetchone()
        return int(row[0]) if row else 0

    def result(self, checkpoint: Path | None) -> dict[str, Any]:
        cpu = self.worker_cpu() - self.cpu
        rounds = self.rounds_answered() - self.answered
        bare = bare_forward_rate(checkpoint) if checkpoint is not None else None
        worker_rate = rounds / cpu if cpu > 0 else 0.0
        return {
            "rounds": rounds,
            "worker_cpu_s": round(cpu, 1),
            "worker_rounds_per_cpu_s": round(worker_rate, 1),
            "bare_images_per_cpu_s": None if bare is None else round(bare, 1),
            "ratio": None if not bare else round(worker_rate / bare, 2),
        }


def bare_forward_rate(checkpoint: Path) -> float:
    """Images per CPU-second of the bare batched forward: the exported graph on a (BARE_BATCH, 3, S, S) batch."""
    from planet_engine.predict import Predictor

    predictor = Predictor(checkpoint, device="cpu", backend="onnx", threads=1, batch_size=BARE_BATCH)
    size = predictor.image_size
    batch = np.random.default_rng(0).standard_normal((BARE_BATCH, 3, size, size)).astype(np.float32)
    session = predictor._session
    session.run(["logits"], {"images": batch})  # warm-up
    began_cpu, began = cpu_seconds(), time.monotonic()
    images = 0
    while time.monotonic() - began < BARE_SECONDS:
        session.run(["logits"], {"images": batch})
        images += BARE_BATCH
    return images / max(cpu_seconds() - began_cpu, 1e-9)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
