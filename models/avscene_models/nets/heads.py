"""Heads: small models on embeddings that return calibrated class probabilities.

Every head keeps its calibration temperature ``T`` as a buffer: ``logits(...)`` is what training optimises,
``forward(...)`` returns ``softmax(logits / T)`` — the exported ONNX graph, so the daemon never sees T.

- ``AudioHead``: output layer per frame, softmax, mean over the 6 frames: ``audio [B,6,D]`` → ``[B,C]``.
  Its output layer is the audio net's own classifier (frame-level training), so the 1-s prediction is the
  mean of the 6 frame outputs, as in §3.1.2.
- ``ImageHead``: output layer + softmax: ``image [B,E]`` → ``[B,C]``.
- ``FusionHead``: §2.3.1 — self-attention pooling over the frame embeddings, concatenated with the image
  embedding, FC-BN-ReLU ×2, output layer, softmax: ``audio [B,6,D]``, ``image [B,E]`` → ``[B,C]``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class _Calibrated(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("temperature", torch.ones(()))

    def set_temperature(self, t: float) -> None:
        self.temperature.fill_(float(t))


class AudioHead(_Calibrated):
    def __init__(self, embedding_dim: int, classes: int):
        super().__init__()
        self.output = nn.Linear(embedding_dim, classes)

    def logits(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B,6,D]`` → per-frame logits ``[B,6,C]``."""
        return self.output(audio)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(audio) / self.temperature, dim=-1).mean(dim=1)


class ImageHead(_Calibrated):
    def __init__(self, embedding_dim: int, classes: int):
        super().__init__()
        self.output = nn.Linear(embedding_dim, classes)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.output(image)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(image) / self.temperature, dim=-1)


class AttentionPooling(nn.Module):
    """Attention pooling over time, ``α = softmax_t(vᵀ tanh(W h_t))``, ``Σ α_t h_t``: our reading of the report's
    "self-attention [13] along time" (Tarantino et al. 2019 use the transformer's sequence-to-sequence
    self-attention, which gives no single vector; models/README.md)."""

    def __init__(self, dim: int, attention_dim: int = 128):
        super().__init__()
        self.project = nn.Linear(dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def weights(self, seq: torch.Tensor) -> torch.Tensor:
        """``[B,T,D]`` → ``[B,T]`` attention weights (sum to 1 over T)."""
        return torch.softmax(self.score(torch.tanh(self.project(seq))).squeeze(-1), dim=1)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return (self.weights(seq).unsqueeze(-1) * seq).sum(dim=1)


class FusionHead(_Calibrated):
    def __init__(self, audio_dim: int, image_dim: int, classes: int, *,
                 hidden: Sequence[int] = (512, 256), attention_dim: int = 128, dropout: float = 0.0):
        super().__init__()
        self.pool = AttentionPooling(audio_dim, attention_dim)
        layers: list[nn.Module] = []
        prev = audio_dim + image_dim
        for units in hidden:
            layers += [nn.Linear(prev, units), nn.BatchNorm1d(units), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            prev = units
        self.classifier = nn.Sequential(*layers, nn.Linear(prev, classes))

    def logits(self, audio: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.cat([self.pool(audio), image], dim=1))

    def forward(self, audio: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(audio, image) / self.temperature, dim=-1)
