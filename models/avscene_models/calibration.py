"""Temperature scaling (Guo et al. 2017) on held-out outputs: one scalar T per head minimising the log loss of
the head's probabilities. Audio-only heads average the 6 frame softmaxes, so T is fitted through that mean."""
from __future__ import annotations

import numpy as np
import torch

from .metrics import log_loss


def head_probs(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``[N, C]`` logits → softmax(logits/T); ``[N, 6, C]`` frame logits → mean over frames of the softmaxes."""
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, dim=-1)
    return (p.mean(dim=1) if p.ndim == 3 else p).numpy()


def fit_temperature(logits: np.ndarray, labels: np.ndarray, bounds=(0.05, 20.0)) -> float:
    """Minimises the held-out log loss over log T (golden-section search on a bracket found by a coarse grid)."""
    def loss(log_t: float) -> float:
        return log_loss(head_probs(logits, float(np.exp(log_t))), labels)

    grid = np.linspace(np.log(bounds[0]), np.log(bounds[1]), 41)
    values = [loss(g) for g in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    a, b = lo + (1 - ratio) * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - ratio) * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return float(np.exp((lo + hi) / 2))
