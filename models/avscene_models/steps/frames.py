"""Step ``frames``: the center frame of every 1-s window by the daemon's own video code, cached losslessly."""
from __future__ import annotations

from ..train.common import loader_workers
from .run import Run


def extract_frames(cfg: dict) -> None:
    if not cfg["image"]["nets"]:
        return
    from ..data.frames import extract_frames as _extract
    run = Run(cfg)
    _extract(run.ds.clips, cfg["cacheDir"], cfg["daemon"]["node"], cfg["frames"]["batch"],
             loader_workers(cfg["frames"]["jobs"]) or 1)
