"""What a training run is told. Free of torch, so that the command line takes its defaults from here without
loading the model."""

from __future__ import annotations

from dataclasses import dataclass, field

# Frozen-backbone embeddings, shared by training's linear probe and evaluation's kNN baseline.
DEFAULT_CACHE_DIR = ".cache/planet_engine"
# head: linear probe on cached embeddings; last: the head, the last two blocks and the conv head; all.
TRAINABLE = ("head", "last", "all")
# Test-time augmentation views (data.view_transform): the centre crop the model was always evaluated on, its
# mirror, the two ends of a wide photo and a closer centre crop; predict.py averages their distributions.
VIEWS = ("center", "flip", "left", "right", "zoom")
# ce: cross-entropy on the true cell; haversine: PIGEON's label smoothing by distance.
LOSSES = ("ce", "haversine")
# The kNN retrieval model's neighbours and softmax temperature over their cosines, chosen by leave-one-owner-out
# on yfcc-train for the mean GeoScore (bench/knn_cv.py; the game set chose nothing).
KNN_K = 20
KNN_TEMPERATURE = 1.0
# The album model's input per view (album.py): the backbone's embedding or the base head's log-probabilities.
ALBUM_INPUTS = ("embedding", "logprobs")


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
    # GeoEstimation's hierarchy: cells files of coarser partitions of the same photos (hierarchy.py).
    coarse_cells: list[str] = field(default_factory=list)
    # Softmax temperature of the cell distribution, inside the network (chosen by bench/demo_config_cv.py).
    calibration: float = 1.0
    # Test-time augmentation: the views (data.VIEWS) whose predictions are averaged; training sees the centre.
    tta_views: list[str] = field(default_factory=lambda: ["center"])
    # Training from prepared shards (`manifest` a folder written by `prepare`): the shuffle buffer's size per
    # loader worker (0: sized from free memory) and a checkpoint every this many steps as well as after each
    # epoch (0: after each epoch only).
    shuffle_buffer: int = 0
    checkpoint_every: int = 0
    # Run switches, not recorded: continue from `out`; let a resume change the ranks or workers (the schedule is
    # rescaled to the new steps per epoch); hash every shard before training (each rank its share).
    resume: bool = False
    rescale: bool = False
    verify_shards: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be head, last or all, not {self.trainable!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be ce or haversine, not {self.loss!r}")
        if not self.tta_views or set(self.tta_views) - set(VIEWS):
            raise ValueError(f"tta_views must be some of {VIEWS}")
        if self.calibration <= 0:
            raise ValueError("calibration must be positive")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.tau_km <= 0:
            raise ValueError("epochs, batch_size, lr and tau_km must be positive")


@dataclass(frozen=True)
class AlbumSettings:
    """How PlaNet's album LSTM (album.py) is trained. The defaults were fixed before any held-out evaluation, for
    small sets (tens to hundreds of places); bench/multiview.py compares them with averaging on held-out places."""

    input: str = "embedding"  # one of ALBUM_INPUTS
    hidden: int = 64
    dropout: float = 0.3  # on the standardised inputs
    epochs: int = 60
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-2
    loss: str = "haversine"  # one of LOSSES
    tau_km: float = 1000.0
    shuffle_views: bool = True  # a fresh random order of each place's views every epoch
    seed: int = 0

    def __post_init__(self) -> None:
        if self.input not in ALBUM_INPUTS:
            raise ValueError(f"input must be one of {ALBUM_INPUTS}, not {self.input!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.hidden < 1 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.tau_km <= 0:
            raise ValueError("hidden, epochs, batch size, learning rate and tau must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
