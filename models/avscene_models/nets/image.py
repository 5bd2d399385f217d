"""Image embedding networks: torchvision backbones with their classifier removed.

The embedding is the pooled feature vector that fed the classifier (ResNet-50 2048, EfficientNet-B5 2048,
EfficientNetV2-S 1280, Swin-T 768, MobileNetV3-S 576). Nothing is downloaded: weights come from local files
(``load_weights``), otherwise the net starts from scratch.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

#: Evaluation preprocessing per architecture (resize of the shorter side, square center crop), as in the
#: report (ResNet-50/Swin-T 224, EfficientNet-B5 456) and torchvision's reference transforms otherwise.
PREPROCESS = {
    "resnet50": (256, 224),
    "efficientnet_b5": (456, 456),
    "efficientnet_v2_s": (384, 384),
    "swin_t": (232, 224),
    "mobilenet_v3_small": (256, 224),
}
_CLASSIFIER_ATTRS = ("fc", "classifier", "head")
#: torchvision 0.14's stochastic depth (drop-path) probability at the deepest block of the architectures that have
#: it; shallower blocks get a linearly smaller one (efficientnet.py, swin_transformer.py). swin_t's builder fixes
#: stochastic_depth_prob=0.2 itself (passing it again is a TypeError), so every architecture is rescaled after
#: construction instead of through the builder's argument.
TORCHVISION_STOCHASTIC_DEPTH = {"efficientnet_b5": 0.2, "efficientnet_v2_s": 0.2, "swin_t": 0.2}


def preprocess_for(architecture: str, size: int | None = None) -> dict:
    """The manifest's ``preprocess`` block; ``size`` overrides the crop (resize scales with it)."""
    resize, crop = PREPROCESS.get(architecture, (256, 224))
    if size is not None:
        resize, crop = round(size * resize / crop), size
    return {"resize": resize, "crop": [crop, crop], "mean": IMAGENET_MEAN, "std": IMAGENET_STD}


class ImageEmbedder(nn.Module):
    """A torchvision classifier whose last layer is replaced by the identity: ``[B,3,H,W]`` → ``[B,E]``."""

    def __init__(self, architecture: str, stochastic_depth: float | None = None):
        super().__init__()
        if not hasattr(torchvision.models, architecture):
            raise ValueError(f"torchvision has no model {architecture!r}")
        self.architecture = architecture
        self.backbone = getattr(torchvision.models, architecture)(weights=None)
        attr = next((a for a in _CLASSIFIER_ATTRS if hasattr(self.backbone, a)), None)
        if attr is None:
            raise ValueError(f"{architecture}: no fc/classifier/head attribute to remove")
        head = getattr(self.backbone, attr)
        first_linear = head if isinstance(head, nn.Linear) else next(m for m in head.modules() if isinstance(m, nn.Linear))
        self.embedding_dim = first_linear.in_features
        self._classifier_attr = attr
        setattr(self.backbone, attr, nn.Identity())
        if stochastic_depth is not None:
            set_stochastic_depth(self.backbone, architecture, stochastic_depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


def drop_path_modules(module: nn.Module) -> list[nn.Module]:
    from torchvision.ops import StochasticDepth
    return [m for m in module.modules() if isinstance(m, StochasticDepth)]


def set_stochastic_depth(backbone: nn.Module, architecture: str, p: float) -> None:
    """Sets the drop-path probability at the deepest block to ``p`` (the others scaled as torchvision scales them);
    ``p`` = 0 replaces every StochasticDepth module by the identity. No weights change."""
    from torchvision.ops import StochasticDepth
    p = float(p)
    if not 0 <= p < 1:
        raise ValueError(f"image.stochasticDepth {p}: use a probability in [0, 1) or null (torchvision's)")
    found = drop_path_modules(backbone)
    if not found:
        if p > 0:
            raise ValueError(f"image.stochasticDepth {p}: {architecture} has no stochastic depth; use 0 or null")
        return
    if p == 0:
        for parent in list(backbone.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, StochasticDepth):
                    setattr(parent, name, nn.Identity())
        return
    default = TORCHVISION_STOCHASTIC_DEPTH.get(architecture)
    if default is None:
        raise ValueError(f"image.stochasticDepth: torchvision's drop-path schedule of {architecture} is not known here; "
                         "use 0 or null")
    for m in found:
        m.p = m.p * p / default


def load_weights(embedder: ImageEmbedder, path: str | Path) -> list[str]:
    """Loads a local state dict (a torchvision checkpoint for the full classifier, or one of ours).

    Classifier weights are ignored (the class count differs); returns the missing keys for the log.
    Accepts ``{"state_dict": …}`` / ``{"model": …}`` wrappers and ``module.`` prefixes (Places365 releases).
    """
    state = torch.load(str(path), map_location="cpu")
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    cleaned = {}
    for k, v in state.items():
        k = k.removeprefix("module.").removeprefix("backbone.")
        if k.split(".")[0] == embedder._classifier_attr:
            continue
        cleaned[k] = v
    result = embedder.backbone.load_state_dict(cleaned, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"{path}: weights do not fit {embedder.architecture}: unexpected {result.unexpected_keys[:5]}")
    return list(result.missing_keys)
