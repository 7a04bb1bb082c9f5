"""What a training run is told. Free of torch, so that the command line takes its defaults from here without
loading the model."""

from __future__ import annotations

from dataclasses import dataclass

# Frozen-backbone embeddings, shared by training's linear probe and evaluation's kNN baseline.
DEFAULT_CACHE_DIR = ".cache/planet_engine"
# head: linear probe on cached embeddings; last: the head, the last two blocks and the conv head; all.
TRAINABLE = ("head", "last", "all")
# ce: cross-entropy on the true cell; haversine: PIGEON's label smoothing by distance.
LOSSES = ("ce", "haversine")


@dataclass
class TrainConfig:
    manifest: str
    cells: str
    out: str
    backbone: str = "efficientnet-lite0"
    pretrained: bool = True
    trainable: str = "head"  # one of TRAINABLE
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.05
    dropout: float = 0.0
    loss: str = "ce"  # one of LOSSES
    tau_km: float = 75.0
    image_size: int | None = None  # None: the backbone's native resolution
    seed: int = 0
    deterministic: bool = True
    device: str = "auto"
    amp: bool = True
    num_workers: int = 0
    cache_dir: str | None = DEFAULT_CACHE_DIR
    resume: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be head, last or all, not {self.trainable!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be ce or haversine, not {self.loss!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.tau_km <= 0:
            raise ValueError("epochs, batch_size, lr and tau_km must be positive")
