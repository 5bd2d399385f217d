"""Per-epoch training log: one CSV row per epoch (epoch, training loss, learning rate, seconds, and the validation
metrics on the stage's held-out clips where it has some), beside the model (``<net>.csv``), and TensorBoard event
files (``<net>.tb/``) where the ``tensorboard`` package is installed. A resumed run drops the rows of epochs it
redoes, so the file always matches the checkpoint's history."""
from __future__ import annotations

import csv
from pathlib import Path

from . import distributed

FIELDS = ("epoch", "loss", "lr", "seconds")


def _tensorboard_writer(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:                                # tensorboard not installed: the CSV alone
        return None
    return SummaryWriter(str(path))


class EpochLog:
    def __init__(self, path: Path, start_epoch: int):
        self.path = path
        self.enabled = distributed.is_main()
        self.rows: list[dict] = []
        if not self.enabled:
            return
        if path.is_file() and start_epoch > 0:
            with open(path, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= start_epoch]
        self._tb = _tensorboard_writer(path.with_suffix(".tb"))

    def add(self, epoch: int, values: dict) -> None:
        """Epoch ``epoch`` (0-based) finished; ``values``: loss, lr, seconds and any validation metrics."""
        if not self.enabled:
            return
        row = {"epoch": epoch + 1, **{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in values.items()}}
        self.rows.append(row)
        fields = list(FIELDS) + sorted({k for r in self.rows for k in r} - set(FIELDS))
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, restval="", lineterminator="\n")
            w.writeheader()
            w.writerows(self.rows)
        tmp.replace(self.path)
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and k != "seconds":
                    self._tb.add_scalar(k, v, epoch + 1)
            self._tb.flush()
