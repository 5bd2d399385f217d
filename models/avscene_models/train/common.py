"""What every training step shares: seeding, device, stages (held-out folds), checkpoints, LR schedules, mixed
precision, the training loop."""
from __future__ import annotations

import contextlib
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ..data.dataset import Dataset
from ..progress import Progress, progress_interval
from . import distributed
from .epoch_log import EpochLog


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda``; under torchrun each rank takes the GPU of its LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for but torch sees no GPU (set \"device\": \"cpu\" or install CUDA torch)")
    if name == "cuda" and distributed.enabled():
        torch.cuda.set_device(distributed.local_rank())
        return torch.device("cuda", distributed.local_rank())
    return torch.device(name)


def loader_workers(setting) -> int:
    """DataLoader workers: a number, or ``"auto"`` = this host's CPUs shared by the ranks on it, one left for the
    training process itself, at most 8 each (more rarely helps JPEG/WebP decoding and costs memory)."""
    if setting != "auto":
        return int(setting)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_rank = cpus // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(8, per_rank - 1))


class Precision:
    """Mixed precision on CUDA (``torch.autocast`` float16 + a gradient scaler); full float32 elsewhere or when
    ``amp`` is off. Evaluation and export always run in float32: the daemon runs the float32 ONNX graph."""

    def __init__(self, device: torch.device, amp: bool):
        self.enabled = bool(amp) and device.type == "cuda"
        self.scaler = torch.cuda.amp.GradScaler(enabled=self.enabled)

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.float16) if self.enabled else contextlib.nullcontext()


@dataclass(frozen=True)
class Stage:
    """One training run of the whole chain: fit on ``train``, predict ``heldout`` (calibration/fusion data)."""
    name: str
    train: tuple[str, ...]
    heldout: tuple[str, ...]


def _groups_by_class(ds: Dataset, ids: list[str], seed: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Held-out groups per class, shuffled: recording locations where the class has several, else single clips
    (so every class can be held out without leaving it untrained). Returns (groups per class, group of each clip)."""
    rng = random.Random(seed)
    locations: dict[str, set[str]] = {}
    for i in ids:
        locations.setdefault(ds.clips[i].label, set()).add(ds.clips[i].location)
    group_of = {i: (ds.clips[i].location if len(locations[ds.clips[i].label]) > 1 else i) for i in ids}
    by_class: dict[str, list[str]] = {}
    for i in ids:
        groups = by_class.setdefault(ds.clips[i].label, [])
        if group_of[i] not in groups:
            groups.append(group_of[i])
    for groups in by_class.values():
        groups.sort()
        rng.shuffle(groups)
    return by_class, group_of


def make_stages(ds: Dataset, heldout: dict, seed: int, submission: bool = False) -> tuple[list[Stage], Stage]:
    """Class-stratified held-out folds from the train split, grouped by recording location (by clip for a class
    recorded at one location only), and the final stage; with ``submission`` one more stage, ``submission``, on
    all the development data (train + evaluate splits: §3.1.2's retraining before submitting), run last.

    Returns (stages to run in order, the final stage whose models the tables score).
    """
    stages, final = _heldout_stages(ds, heldout, seed)
    if submission:
        stages.append(Stage("submission", tuple(ds.splits["train"]) + tuple(ds.splits["evaluate"]), ()))
    return stages, final


def _heldout_stages(ds: Dataset, heldout: dict, seed: int) -> tuple[list[Stage], Stage]:
    train = list(ds.splits["train"])
    by_class, group_of = _groups_by_class(ds, train, seed)
    mode = heldout.get("mode", "split")
    if mode == "split":
        frac = float(heldout.get("fraction", 0.2))
        held_groups = set()
        for groups in by_class.values():
            take = min(len(groups) - 1, max(1 if len(groups) > 1 else 0, round(frac * len(groups))))
            held_groups.update(groups[:take])
        held = tuple(i for i in train if group_of[i] in held_groups)
        fold = Stage("fold0", tuple(i for i in train if i not in held), held)
        if heldout.get("retrain"):
            final = Stage("final", tuple(train), ())
            return [fold, final], final
        return [fold], fold
    if mode == "crossval":
        k = int(heldout.get("folds", 4))
        fold_of: dict[str, int] = {}
        offset = 0
        for label in sorted(by_class):          # round-robin per class, continuing across classes: balanced folds
            for group in by_class[label]:
                fold_of.setdefault(group, offset % k)
                offset += 1
        stages = []
        for f in range(k):
            held = tuple(i for i in train if fold_of[group_of[i]] == f)
            stages.append(Stage(f"fold{f}", tuple(i for i in train if i not in held), held))
        final = Stage("final", tuple(train), ())
        return stages + [final], final
    raise ValueError(f"heldout.mode {mode!r}: use split or crossval")


def cosine_restarts(optimizer, steps_per_cycle: int, mult: int, lr_min: float):
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=max(1, steps_per_cycle), T_mult=max(1, int(mult)), eta_min=lr_min)


def warmup_cosine(optimizer, warmup_steps: int, total_steps: int, lr_min_ratio: float = 0.0):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return lr_min_ratio + (1 - lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class NetWithHead(torch.nn.Module):
    """A net and its head's output layer as one module (what DistributedDataParallel wraps): input → logits."""

    def __init__(self, body: torch.nn.Module, head: torch.nn.Module):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.output(self.body(x))


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` by rank 0 through a temporary file: the final model of a stage appears whole or not at all
    (its presence is what marks the stage done); the other ranks wait until it is there."""
    if distributed.is_main():
        tmp = path.with_name(path.name + ".tmp")
        torch.save(obj, tmp)
        os.replace(tmp, path)
    distributed.barrier()


class Checkpoint:
    """Per-epoch checkpoint of everything needed to resume exactly (modules, optimiser, scheduler, RNG — CUDA's
    included when there is one)."""

    #: State a checkpoint may lack: the gradient scaler exists only for mixed precision on CUDA, so a checkpoint
    #: written on a CPU has none; resuming it on a GPU starts a fresh scaler (its scale adapts within steps).
    OPTIONAL = ("scaler",)

    def __init__(self, path: Path):
        self.path = path

    def save(self, epoch: int, **state) -> None:
        """Rank 0 writes (atomically: a kill mid-write leaves the previous epoch's checkpoint)."""
        if not distributed.is_main():
            return
        state = {k: (v.get_state() if isinstance(v, torch.Generator) else
                     v.state_dict() if hasattr(v, "state_dict") else v) for k, v in state.items()}
        state["epoch"] = epoch
        state["rng"] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
        if torch.cuda.is_available():
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def load(self, **objects) -> int:
        """Restores into ``objects`` (state_dict-able); returns the next epoch to run (0 when none)."""
        if not self.path.is_file():
            return 0
        state = torch.load(self.path, map_location="cpu")
        for k, obj in objects.items():
            if k not in state and k in self.OPTIONAL:
                continue
            if k not in state:
                raise ValueError(f"{self.path}: checkpoint has no {k!r} state (it has {sorted(state)}); it was written "
                                 "by another version or setting: remove it to restart this stage")
            if isinstance(obj, torch.Generator):
                obj.set_state(state[k])
            else:
                obj.load_state_dict(state[k])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        cuda = state["rng"].get("cuda")
        # The same number of GPUs: their generators continue exactly; otherwise (a CPU checkpoint on a GPU, or
        # another GPU count) the CUDA generators keep their seeded state.
        if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        return int(state["epoch"]) + 1

    def remove(self) -> None:
        """Once the stage's final model is saved (never before: a kill in between would lose the whole stage)."""
        if distributed.is_main():
            self.path.unlink(missing_ok=True)


def mixup(x: torch.Tensor, y: torch.Tensor, classes: int, alpha: float, gen: torch.Generator):
    """Returns mixed inputs and soft targets (alpha <= 0: one-hot targets, inputs unchanged)."""
    target = torch.nn.functional.one_hot(y, classes).float()
    if alpha <= 0:
        return x, target
    lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen))).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=gen)
    return lam * x + (1 - lam) * x[perm], lam * target + (1 - lam) * target[perm]


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy with soft targets; ``class_weights`` rescales each class's share (balanced training)."""
    if class_weights is not None:
        target = target * class_weights
    return -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def balanced_weights(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Per-class weights n / (k · n_c) over the k classes present (absent classes get 0)."""
    counts = torch.bincount(labels, minlength=classes).double()
    present = counts > 0
    w = torch.zeros(classes, dtype=torch.float64)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w.float()


def fit_epochs(modules: dict[str, torch.nn.Module], opt, sched, ckpt: Checkpoint, epochs: int, label: str,
               batches: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]],
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               precision: Precision | None = None, gen: torch.Generator | None = None,
               min_batch: int = 2, items: int | None = None,
               validate: Callable[[], dict] | None = None) -> None:
    """The training loop every net shares: resume from ``ckpt``, per epoch ``batches()`` → ``loss_fn`` (under
    autocast on CUDA) → scaled backward → step (``sched`` stepped per batch when given), checkpoint (modules,
    optimiser, scheduler, gradient scaler, the data-order generator ``gen``, RNG), progress. The checkpoint stays
    until the caller has saved the final model (``Checkpoint.remove``). Batches smaller than ``min_batch`` are
    skipped (BatchNorm needs two examples on each rank).

    ``items``: examples per epoch, for the progress inside an epoch (items/s, time left). After each epoch a row
    goes to ``<checkpoint>.csv`` (loss, lr, and ``validate()``'s metrics — computed on rank 0 in eval mode, without
    touching any random generator, so the training itself does not change)."""
    precision = precision or Precision(torch.device("cpu"), False)
    extra = {"sched": sched} if sched is not None else {}
    if precision.enabled:
        extra["scaler"] = precision.scaler
    if gen is not None:
        extra["gen"] = gen
    start = ckpt.load(**modules, opt=opt, **extra)
    device = next(next(iter(modules.values())).parameters()).device
    bar = Progress(epochs, label) if distributed.is_main() else None
    if bar:
        bar.done = start
    epoch_log = EpochLog(ckpt.path.with_suffix(".csv"), start)
    for epoch in range(start, epochs):
        for m in modules.values():
            m.train()
        t0 = time.monotonic()
        inner = (Progress(items, f"{label} epoch {epoch + 1}/{epochs}", unit="items", every=progress_interval())
                 if bar and items else None)
        total, seen = 0.0, 0
        for xb, yb in batches():
            if len(yb) < min_batch:
                continue
            with precision.autocast():
                loss = loss_fn(xb, yb)
            opt.zero_grad()
            precision.scaler.scale(loss).backward()
            precision.scaler.step(opt)
            precision.scaler.update()
            if sched is not None:
                sched.step()
            total += float(loss) * len(yb)
            seen += len(yb)
            if inner:
                inner.update(len(yb), f"loss {total / seen:.3f}")
        mean = distributed.all_mean(total / max(seen, 1), seen, device)
        if distributed.is_main():
            values = {"loss": mean, "lr": float(opt.param_groups[0]["lr"]), "seconds": round(time.monotonic() - t0, 1)}
            if validate is not None:
                with torch.no_grad():
                    values.update(validate())
            # Before the checkpoint: a kill in between redoes this epoch, and the resumed log replaces its row.
            epoch_log.add(epoch, values)
        ckpt.save(epoch, **modules, opt=opt, **extra)
        if bar:
            bar.update(1, f"loss {mean:.3f}" + (f" val {values['valLogLoss']:.3f}" if "valLogLoss" in values else ""))
