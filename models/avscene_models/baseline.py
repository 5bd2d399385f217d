"""The plain baseline every evaluation is shown beside: multinomial logistic regression (L2) on each 1-s window's
per-band mean and standard deviation of log-mel over its 6 frames (both channels: 2 × 256 × 2 = 1024 inputs),
standardised on the training windows."""
from __future__ import annotations

import numpy as np
import torch


def window_stats(logmel: np.ndarray) -> np.ndarray:
    """``[W, 6, 2, F]`` → ``[W, 4F]``: per channel and band, mean and std over the frames."""
    x = np.asarray(logmel, dtype=np.float64)
    return np.concatenate([x.mean(axis=1).reshape(len(x), -1), x.std(axis=1).reshape(len(x), -1)], axis=1)


class LogisticBaseline:
    def __init__(self, classes: int, l2: float = 1e-2):
        self.classes = classes
        self.l2 = l2

    def fit(self, x: np.ndarray, y: np.ndarray) -> "LogisticBaseline":
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0) + 1e-6
        xt = torch.as_tensor((x - self.mean) / self.std)
        yt = torch.as_tensor(y)
        self.w = torch.zeros(x.shape[1], self.classes, dtype=torch.float64, requires_grad=True)
        self.b = torch.zeros(self.classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([self.w, self.b], lr=1, max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ self.w + self.b, yt) + self.l2 * (self.w ** 2).sum() / 2
            loss.backward()
            return loss

        opt.step(closure)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = torch.as_tensor((x - self.mean) / self.std) @ self.w + self.b
            return torch.softmax(z, dim=1).numpy()
