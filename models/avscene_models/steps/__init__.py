"""The pipeline steps, one module each, run by ``python3 -m avscene_models <step> CONFIG.json`` or all together by
``pipeline`` (this module). Every step skips what its outputs already show as done (cached features, trained
nets, outputs) and training checkpoints every epoch, so a killed run loses at most one epoch.

``pipeline CONFIG --resume`` continues a run in its ``workDir``: the config must be the one the run started with
(``run.json``), steps recorded as finished (``steps/<step>.done``) are skipped, the interrupted one continues from
its checkpoints. Without ``--resume`` a ``workDir`` that already holds a run is refused rather than mixed with a
new config. Under ``torchrun`` the training steps run on every rank (data-parallel); the others run on rank 0
while the other ranks wait.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from ..progress import log
from ..train.common import pick_device
from ..train.distributed import barrier, init as join, is_main
from .calibrate import calibrate
from .check import check_data
from .deploy import deploy
from .embed import embed
from .evaluate import evaluate
from .export import export
from .features import extract_features
from .frames import extract_frames
from .fuse import fuse
from .train_audio import train_audio
from .train_heads import train_heads
from .train_image import train_image

#: (command name, function, distributed: runs on every torchrun rank), in pipeline order.
STEPS = (
    ("features", extract_features, False),
    ("frames", extract_frames, False),
    ("train-audio", train_audio, True),
    ("train-image", train_image, True),
    ("embed", embed, False),
    ("train-heads", train_heads, False),
    ("calibrate", calibrate, False),
    ("fuse", fuse, False),
    ("evaluate", evaluate, False),
    ("export", export, False),
    ("deploy", deploy, False),
)
#: Config keys that do not change what a run computes: where things are (the dataset is compared by its
#: fingerprint, weight files by name and size), how to reach the daemon's CLI, how parallel the host runs, which
#: device (a run started on a CPU may continue on a GPU), where the bundle goes. A run moved to another folder or
#: host resumes.
_NOT_RUN_STATE = ("configPath", "daemon", "export", "dataset", "datasetAsWritten", "datasetFiles", "workDir", "cacheDir",
                  "device",
                  "features.batch", "features.jobs", "frames.batch", "frames.jobs", "image.workers", "image.weights")


def run_step(name: str, fn, distributed: bool, cfg: dict) -> None:
    """One step: on every rank when it is data-parallel, else on rank 0 while the others wait."""
    join(pick_device(cfg["device"]))
    if distributed or is_main():
        fn(cfg)
    barrier()


def _drop(node: dict, dotted: str) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node.get(k)
        if not isinstance(node, dict):
            return
    node.pop(keys[-1], None)


def _weights_fingerprint(weights: dict) -> dict:
    """Weight files by name and size, Places365 folders by name: what they are, not where."""
    out = {}
    for arch, files in weights.items():
        out[arch] = {}
        for k, v in files.items():
            p = Path(v) if v else None
            out[arch][k] = None if p is None else [p.name, p.stat().st_size if p.is_file() else None]
    return out


def dataset_fingerprint(cfg: dict) -> str:
    """SHA-256 over what the dataset is, not where: every clip's id, label, recording location, split, and its
    audio and video file sizes."""
    from ..data.dataset import read_dataset
    ds = read_dataset(cfg["dataset"], cfg["classes"], cfg["datasetFiles"])
    split_of = {i: s for s, ids in ds.splits.items() for i in ids}
    rows = sorted((c.id, c.label, c.location, split_of.get(c.id, ""),
                   c.audio.stat().st_size if c.audio.is_file() else -1,
                   c.video.stat().st_size if c.video is not None else -1) for c in ds.clips.values())
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def run_state(cfg: dict) -> dict:
    """What must match for ``--resume``: the settings that change results and the dataset's fingerprint."""
    state = json.loads(json.dumps(cfg))
    for key in _NOT_RUN_STATE:
        _drop(state, key)
    state["imageWeights"] = _weights_fingerprint(cfg["image"]["weights"])
    state["datasetFingerprint"] = dataset_fingerprint(cfg)
    return state


def _changed_keys(a, b, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [k for key in sorted(set(a) | set(b))
                for k in _changed_keys(a.get(key), b.get(key), f"{prefix}{key}.")]
    return [] if a == b else [prefix.rstrip(".")]


def _start_or_resume(cfg: dict, resume: bool) -> None:
    work = Path(cfg["workDir"])
    state_path = work / "run.json"
    state = run_state(cfg)
    if state_path.is_file():
        started = json.loads(state_path.read_text())
        if not resume:
            raise ValueError(f"{work} already holds a run (started {started.get('started', '?')}): continue it with "
                             f"`pipeline {cfg['configPath']} --resume`, or remove it / choose another workDir "
                             f"(--set workDir=…)")
        before = started.get("state")
        if before is None:                       # a run.json from before fingerprints: compare what both record
            before = json.loads(json.dumps(started["config"]))
            for key in _NOT_RUN_STATE:
                _drop(before, key)
            before.update({k: state[k] for k in ("imageWeights", "datasetFingerprint")})
        changed = _changed_keys(before, state)
        if changed:
            what = ", ".join("the dataset's contents (clips, labels, locations, splits or file sizes)"
                             if k == "datasetFingerprint" else k for k in changed[:8])
            raise ValueError(f"--resume: this run differs from the one {work} was started with ({what}); resume with "
                             f"the same config, --set values and dataset, or start a new workDir")
    else:
        work.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "state": state}, indent=1))
        tmp.replace(state_path)


def run_all(cfg: dict, resume: bool = False) -> None:
    join(pick_device(cfg["device"]))          # under torchrun: every rank waits for rank 0's bookkeeping below
    if is_main():
        check_data(cfg)
        _start_or_resume(cfg, resume)
    barrier()
    done_dir = Path(cfg["workDir"]) / "steps"
    for name, fn, distributed in STEPS:
        marker = done_dir / f"{name}.done"
        if marker.is_file():
            if is_main():
                log(f"== {name}: finished earlier ({marker.read_text().strip()}), skipped")
            continue
        if is_main():
            log(f"== {name}")
        run_step(name, fn, distributed, cfg)
        if is_main():
            done_dir.mkdir(parents=True, exist_ok=True)
            marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z") + "\n")
