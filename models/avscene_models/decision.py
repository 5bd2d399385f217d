"""Decision-level fusion: weighted mean of heads' probabilities; weights by grid search (step 0.05 on the
simplex) minimising log loss on held-out outputs (§2.3.2, §3.3), pooled over segments or class-averaged (DCASE's
figure: per class, then the mean over the classes present)."""
from __future__ import annotations

import numpy as np

from .metrics import EPS


def fuse(probs: list[np.ndarray], weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return np.tensordot(w / w.sum(), np.stack(probs), axes=1)


def simplex_grid(k: int, step: float) -> np.ndarray:
    """Every weight vector of ``k`` non-negative multiples of ``step`` summing to 1, ``[M, k]``."""
    n = int(round(1 / step))
    if abs(n * step - 1) > 1e-9:
        raise ValueError(f"grid step {step} must divide 1")

    def rec(parts: int, total: int):
        if parts == 1:
            yield (total,)
            return
        for first in range(total, -1, -1):
            for rest in rec(parts - 1, total - first):
                yield (first,) + rest

    return np.array(list(rec(k, n)), dtype=np.float64) / n


OBJECTIVES = ("pooled", "classAverage")


def segment_weights(labels: np.ndarray, objective: str) -> np.ndarray:
    """Each segment's share of the loss: 1/N pooled; 1/(n_c · classes present) class-averaged."""
    if objective == "pooled":
        return np.full(len(labels), 1 / len(labels))
    if objective == "classAverage":
        classes, counts = np.unique(labels, return_counts=True)
        per = dict(zip(classes.tolist(), (1 / (counts * len(classes))).tolist()))
        return np.array([per[int(y)] for y in labels])
    raise ValueError(f"fusion.objective {objective!r}: use one of {', '.join(OBJECTIVES)}")


def grid_search(probs: list[np.ndarray], labels: np.ndarray, step: float = 0.05, chunk: int = 4096,
                min_weight: float = 0.0, objective: str = "pooled"):
    """Returns (best weights, their log loss). Only the true class's probability matters for log loss, so every
    candidate costs one matrix product: loss = −Σ s_n log(W @ P_true) with the segment shares ``s`` of
    ``objective`` (pooled: 1/N). ``min_weight`` keeps every head in (> 0)."""
    share = None if objective == "pooled" else segment_weights(labels, objective)   # pooled: the plain mean
    p_true = np.stack([np.clip(p[np.arange(len(labels)), labels], EPS, 1) for p in probs])   # [K, N]
    grid = simplex_grid(len(probs), step)
    grid = grid[(grid >= min_weight - 1e-9).all(axis=1)]
    if not len(grid):
        raise ValueError(f"no weights on the {step} grid give each of {len(probs)} heads at least {min_weight}")
    best_w, best_loss = None, np.inf
    for start in range(0, len(grid), chunk):
        w = grid[start:start + chunk]
        nll = -np.log(np.clip(w @ p_true, EPS, 1))
        losses = nll.mean(axis=1) if share is None else nll @ share
        i = int(np.argmin(losses))
        if losses[i] < best_loss - 1e-12:
            best_w, best_loss = w[i], float(losses[i])
    return best_w, best_loss
