"""The network of a checkpoint as an ONNX graph beside it, for CPU inference with ONNX Runtime.

The checkpoint stays the source of truth: the graph's file name carries the checkpoint's sha256, so a changed
checkpoint never runs on a stale graph, and a graph is accepted only after a parity check against torch on
real images (logits within PARITY_ATOL, the same top-1 cell). Exported with a batch of 2 and a dynamic batch
axis: a batch-1 export gave a graph that was wrong for other batch sizes.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from planet_engine.checkpoint import LoadedCheckpoint
from planet_engine.data import ImageInput, eval_transform, load_image

PARITY_ATOL = 1e-3
OPSET = 17


class OnnxParityError(RuntimeError):
    """The exported graph does not compute what the checkpoint computes; the message says by how much."""


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    max_abs_logit_diff: float
    images_checked: int


def onnx_path(checkpoint: str | Path, sha256: str) -> Path:
    """Where the graph of the checkpoint with this sha256 lives: beside it, keyed by the hash."""
    path = Path(checkpoint)
    return path.with_name(f"{path.stem}.{sha256[:16]}.onnx")


def onnx_session(path: Path, *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session; `threads` intra-op threads (a worker sharing the CPU wants few)."""
    import onnxruntime as ort  # only where ONNX inference is used

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads otherwise spin on the cores the web server and the database need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(session: Any, batch: np.ndarray) -> np.ndarray:
    """(B, 3, S, S) float32 -> (B, C) logits."""
    return np.asarray(session.run(["logits"], {"images": batch.astype(np.float32, copy=False)})[0])


def onnx_export(
    loaded: LoadedCheckpoint, checkpoint: str | Path, *, images: Sequence[ImageInput], threads: int | None = None
) -> OnnxExport:
    """Export the checkpoint's network (once: an existing graph for the same sha256 is reused) and check it
    against torch on `images` plus two random inputs; OnnxParityError when it differs."""
    path = onnx_path(checkpoint, loaded.sha256)
    size = int(loaded.config["image_size"])
    model = loaded.model.to("cpu").eval()
    if not path.is_file():
        temp = path.with_name(f".{path.name}.{os.getpid()}.part")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's shape-inference chatter
            torch.onnx.export(
                model,
                (torch.zeros(2, 3, size, size),),
                str(temp),
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(temp, path)
    generator = torch.Generator().manual_seed(0)
    probes = [eval_transform(load_image(image), size) for image in images]
    probes += list(torch.randn(2, 3, size, size, generator=generator))
    batch = torch.stack(probes)  # (N, 3, S, S)
    with torch.inference_mode():
        expected = model(batch).float().numpy()
    actual = onnx_logits(onnx_session(path, threads=threads), batch.numpy())
    difference = float(np.abs(expected - actual).max())
    same_top1 = bool((expected.argmax(axis=1) == actual.argmax(axis=1)).all())
    if not difference <= PARITY_ATOL or not same_top1:
        path.unlink(missing_ok=True)
        raise OnnxParityError(
            f"ONNX graph differs from the checkpoint: max |logit difference| {difference:.2e} "
            f"(allowed {PARITY_ATOL}), same top-1 cell on every image: {same_top1}"
        )
    return OnnxExport(path=path, max_abs_logit_diff=difference, images_checked=len(probes))
