"""Images to tensors (Pillow only, no torchvision) and the embedding cache of the linear-probe path."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from planet_engine.config import VIEWS
from planet_engine.model import GeoClassifier
from planet_engine.progress import Progress

# Refuse decompression bombs rather than allocating gigabytes for one photo.
Image.MAX_IMAGE_PIXELS = 40_000_000

ImageInput = Image.Image | str | Path


def load_image(source: ImageInput) -> Image.Image:
    """A path or an opened image -> an upright RGB image; corrupt files raise ValueError."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    try:
        with Image.open(source) as image:
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValueError(f"cannot read image {source}: {error}") from None


def to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB image -> (3, H, W) float32, normalised as the EfficientNet-Lite weights expect: (x - 127) / 128."""
    array = np.asarray(image, dtype=np.float32)  # (H, W, 3)
    return torch.from_numpy((array - 127.0) / 128.0).permute(2, 0, 1).contiguous()


def eval_transform(image: Image.Image, size: int) -> torch.Tensor:
    """Resize the short side to `size`, centre crop to size x size."""
    return to_tensor(ImageOps.fit(image, (size, size), method=Image.Resampling.BILINEAR))


def view_transform(image: Image.Image, size: int, view: str) -> torch.Tensor:
    """One test-time view of `image` as a (3, size, size) tensor."""
    if view == "center":
        return eval_transform(image, size)
    if view == "flip":
        return eval_transform(ImageOps.mirror(image), size)
    if view in ("left", "right"):
        centering = (0.0, 0.5) if view == "left" else (1.0, 0.5)
        return to_tensor(ImageOps.fit(image, (size, size), method=Image.Resampling.BILINEAR, centering=centering))
    if view == "zoom":
        width, height = image.size
        side = max(1, int(round(min(width, height) * 0.75)))
        left, top = (width - side) // 2, (height - side) // 2
        crop = image.crop((left, top, left + side, top + side))
        return to_tensor(crop.resize((size, size), Image.Resampling.BILINEAR))
    raise ValueError(f"view must be one of {VIEWS}, not {view!r}")


def train_transform(image: Image.Image, size: int, generator: np.random.Generator) -> torch.Tensor:
    """Random crop of 50-100% of the area, resized to size x size.

    No horizontal flip: mirroring swaps the side of the road traffic drives on and mirrors script, both
    strong location cues.
    """
    width, height = image.size
    scale = generator.uniform(0.5, 1.0)
    side = max(1, int(round(min(width, height) * np.sqrt(scale))))
    left = int(generator.integers(0, width - side + 1))
    top = int(generator.integers(0, height - side + 1))
    crop = image.crop((left, top, left + side, top + side))
    return to_tensor(crop.resize((size, size), Image.Resampling.BILINEAR))


class ImageDataset(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Manifest images with their row index; training crops are random, evaluation crops central."""

    def __init__(self, paths: Sequence[Path], size: int, *, train: bool, seed: int = 0, view: str = "center") -> None:
        self.paths = list(paths)
        self.size = size
        self.train = train
        self.view = view
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = load_image(self.paths[index])
        if self.train:
            # Seeded by (seed, epoch, index): the same crops whatever the worker count.
            generator = np.random.default_rng((self.seed, self.epoch, index))
            return train_transform(image, self.size, generator), index
        return view_transform(image, self.size, self.view), index


@torch.no_grad()
def embed_paths(
    model: GeoClassifier,
    paths: Sequence[Path],
    *,
    size: int,
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    label: str = "embedding",
    view: str = "center",
) -> torch.Tensor:
    """Paths -> (N, D) float32 pooled backbone features."""
    if batch_size is None:
        # On CPU, batches past ~8 run slower per image (activations fall out of cache): bench/engine.py.
        batch_size = 8 if torch.device(device).type == "cpu" else 64
    loader = torch.utils.data.DataLoader(
        ImageDataset(paths, size, train=False, view=view), batch_size=batch_size, num_workers=num_workers
    )
    model.eval()
    progress = Progress(label, len(paths))
    chunks: list[torch.Tensor] = []
    for images, _ in loader:
        chunks.append(model.embed(images.to(device)).float().cpu())
        progress.update(len(images))
    return torch.cat(chunks) if chunks else torch.zeros(0, 0)


def cached_embeddings(
    model: GeoClassifier,
    paths: Sequence[Path],
    *,
    size: int,
    backbone_key: str,
    cache_dir: Path | None,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    view: str = "center",
) -> torch.Tensor:
    """Embeddings of frozen-backbone features, cached on disk by (weights, size, view, file contents' names)."""
    if cache_dir is None:
        return embed_paths(model, paths, size=size, device=device, num_workers=num_workers, view=view)
    # The centre view keeps the key it had before views existed, so existing caches stay valid.
    digest = hashlib.sha256(f"{backbone_key}\t{size}{'' if view == 'center' else chr(9) + view}".encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"\n{Path(path).resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    cache_file = Path(cache_dir) / f"embeddings-{digest.hexdigest()[:24]}.pt"
    if cache_file.is_file():
        cached: torch.Tensor = torch.load(cache_file, weights_only=True)  # (N, D), written below
        return cached
    embeddings = embed_paths(
        model, paths, size=size, device=device, num_workers=num_workers, view=view, label=f"embedding ({view})"
    )
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_suffix(".tmp")
    torch.save(embeddings, temporary)
    temporary.replace(cache_file)
    return embeddings
