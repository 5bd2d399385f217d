"""Step ``features``: audio features of every clip by the daemon's own CLI (``avscene features``), cached."""
from __future__ import annotations

from ..data.features import extract_features as _extract
from .run import Run


def extract_features(cfg: dict) -> None:
    run = Run(cfg)
    _extract(run.ds.clips, cfg["features"]["kinds"], cfg["cacheDir"], cfg["daemon"]["node"], cfg["daemon"]["cli"],
             cfg["features"]["batch"], cfg["features"]["jobs"])
