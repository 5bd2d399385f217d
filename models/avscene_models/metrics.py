"""Per 1-s segment metrics as DCASE 2021 Task 1b computes them: multi-class log loss (the ranking metric) and
accuracy, each both **pooled** over all segments and **class-averaged** (computed per class, then the unweighted
mean over the classes that have segments — DCASE's official figure, which weighs every class equally whatever its
segment count); per class; confusion matrix (+ PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

EPS = 1e-15


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean −log p(true class), probabilities clipped to [1e-15, 1 − 1e-15] and renormalised (as scikit-learn)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)
    p /= p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def confusion(probs: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels, np.argmax(probs, axis=1)), 1)
    return m


def summarize(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """logLoss, accuracy (pooled), n, classAverage {logLoss, accuracy, classes} (DCASE), perClass {name: {logLoss,
    accuracy, n}} (classes with segments only), confusion."""
    out = {"logLoss": log_loss(probs, labels), "accuracy": accuracy(probs, labels), "n": int(len(labels)),
           "perClass": {}, "confusion": confusion(probs, labels, len(classes)).tolist()}
    for i, name in enumerate(classes):
        sel = labels == i
        if sel.any():
            out["perClass"][name] = {"logLoss": log_loss(probs[sel], labels[sel]),
                                     "accuracy": accuracy(probs[sel], labels[sel]), "n": int(sel.sum())}
    per = out["perClass"].values()
    out["classAverage"] = {"logLoss": float(np.mean([v["logLoss"] for v in per])) if per else float("nan"),
                           "accuracy": float(np.mean([v["accuracy"] for v in per])) if per else float("nan"),
                           "classes": len(per)}
    return out


def plot_confusion(matrix, classes: list[str], title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
