"""Audio embedding networks: the 1D-ResNet of the report's Table 1 and the DCNN of its reference [5].

Both read one STFT frame at a time: input ``[B, c, n]`` with c = 2 channels (average, difference) and n filters,
so a 1-s window is a batch of 6 frames. Both end in the same multi-level head: the flattened input and the
flattened output of every block are concatenated and fed to FC1 → FC2 → FC3; FC3's output is the embedding.

1D-ResNet, Table 1 read literally: block k (k = 1..4) maps ``c·2^(k-1)`` channels to ``c·2^k`` (2→4→8→16→32 for
c = 2) with one kernel-3 convolution, pad 0, stride 1, + BN, a 1×1 convolution (+ BN) on the shortcut to match
the channel count (cropped by one sample at each end to the pad-0 output length), ReLU after the sum, then
pooling, kernel 2, stride 2, pad 1 (Table 1 says "Pooling" without a type: ``pooling`` max, ours, or avg). For n = 256 every level flattens to 512 values (2560 in all) and the net has
about 8.4 M parameters, nearly all in FC1 (2560 × 2048).

DCNN, reference [5] (Chen et al., DCASE2019 IOA report, arXiv:1907.06639): its abstract and introduction are
retrievable here (a 1D DCNN on scalograms), its layer table is not, so this is our reading, documented in
models/README.md. The 1D-ResNet "introduces residual learning" into
it and Table 1's caption keeps its notation "c-3 Conv(pad=1, stride=1)-2c-BN-ReLU": we take the same 4-block
skeleton without shortcuts, each block two kernel-3 pad-1 convolutions (+ BN + ReLU, the first doubling the
channels), then the same pooling, the same flatten + concatenate and the same FC stack.

``width`` scales the block channels (1 = literal); ``fc`` sets the FC sizes (the last is the embedding width).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .. import FEATURE_CHANNELS

AUDIO_ARCHITECTURES = ("resnet1d", "dcnn")
POOLING = ("max", "avg")


def _pool(kind: str) -> nn.Module:
    """Table 1's "2 Pooling(pad=1, stride=2)" of the given type."""
    if kind == "max":
        return nn.MaxPool1d(2, stride=2, padding=1)
    if kind == "avg":
        return nn.AvgPool1d(2, stride=2, padding=1)
    raise ValueError(f"audio pooling {kind!r}: use one of {POOLING}")


def _block_channels(in_channels: int, width: float, blocks: int) -> list[int]:
    return [max(1, round(in_channels * (2 ** (k + 1)) * width)) for k in range(blocks)]


class _ResidualBlock(nn.Module):
    """k3 pad-0 conv + BN, 1×1 shortcut conv + BN, sum, ReLU, pool 2/2 pad 1."""

    def __init__(self, cin: int, cout: int, pooling: str = "max"):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, 3, padding=0, bias=False)
        self.bn = nn.BatchNorm1d(cout)
        self.shortcut = nn.Conv1d(cin, cout, 1, bias=False)
        self.shortcut_bn = nn.BatchNorm1d(cout)
        self.pool = _pool(pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The pad-0 conv loses one sample at each end; crop the shortcut to the same positions.
        y = self.bn(self.conv(x)) + self.shortcut_bn(self.shortcut(x))[..., 1:-1]
        return self.pool(torch.relu(y))


class _PlainBlock(nn.Module):
    """Two k3 pad-1 conv + BN + ReLU layers, pool 2/2 pad 1 (our reading of [5])."""

    def __init__(self, cin: int, cout: int, pooling: str = "max"):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm1d(cout), nn.ReLU(),
            nn.Conv1d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm1d(cout), nn.ReLU(),
            _pool(pooling),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class MultiLevelNet1d(nn.Module):
    """Blocks over the filter axis, flatten + concat of input and every block output, FC stack → embedding."""

    def __init__(self, architecture: str, bands: int, *, width: float = 1.0,
                 fc: Sequence[int] = (2048, 1024, 1024), dropout: float = 0.3, blocks: int = 4,
                 pooling: str = "max"):
        super().__init__()
        if architecture not in AUDIO_ARCHITECTURES:
            raise ValueError(f"unknown audio architecture {architecture!r}; use one of {AUDIO_ARCHITECTURES}")
        if len(fc) < 1:
            raise ValueError("fc needs at least one layer (the embedding)")
        self.architecture = architecture
        self.bands = bands
        self.pooling = pooling
        # Per channel × band standardisation of the dB features, fitted on training data and kept in the graph,
        # so the bundle's nets take the daemon's features as they are (audio.standardize; mean 0 / std 1 = off).
        self.register_buffer("input_mean", torch.zeros(FEATURE_CHANNELS, bands))
        self.register_buffer("input_std", torch.ones(FEATURE_CHANNELS, bands))
        block = _ResidualBlock if architecture == "resnet1d" else _PlainBlock
        chans = [FEATURE_CHANNELS] + _block_channels(FEATURE_CHANNELS, width, blocks)
        self.blocks = nn.ModuleList(block(chans[i], chans[i + 1], pooling) for i in range(blocks))
        with torch.no_grad():
            flat = self._levels(torch.zeros(2, FEATURE_CHANNELS, bands)).shape[1]
        self.concat_width = flat
        layers: list[nn.Module] = []
        prev = flat
        for i, units in enumerate(fc):
            layers += [nn.Linear(prev, units), nn.BatchNorm1d(units), nn.ReLU()]
            if i < len(fc) - 1 and dropout > 0:  # FC3 (the embedding) has no dropout in Table 1
                layers.append(nn.Dropout(dropout))
            prev = units
        self.fc = nn.Sequential(*layers)
        self.embedding_dim = prev

    def _levels(self, x: torch.Tensor) -> torch.Tensor:
        outs = [x.flatten(1)]
        for blk in self.blocks:
            x = blk(x)
            outs.append(x.flatten(1))
        return torch.cat(outs, dim=1)

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.input_mean.copy_(mean)
        self.input_std.copy_(std.clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 2, n]`` frames → ``[B, D]`` embeddings (FC3 output)."""
        return self.fc(self._levels((x - self.input_mean) / self.input_std))


def build_audio_net(architecture: str, bands: int, **kwargs) -> MultiLevelNet1d:
    return MultiLevelNet1d(architecture, bands, **kwargs)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
