"""Center frames of every 1-s segment, picked by the daemon's own video code (``FileVideoSource``: the frame
nearest the window's midpoint), scaled to a shorter side of ``size`` px and cached as JPEG:
``CACHE/frames/<clip>/<window>.jpg``. One frame per audio window (the window count comes from the cached
features), so image and audio embeddings line up; a video shorter than its audio gives fewer frames.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from ..progress import Progress, log
from .features import feature_path, load_features

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "extract-frames.mjs"


def frame_dir(cache_dir: str | Path, clip_id: str) -> Path:
    return Path(cache_dir) / "frames" / clip_id


def frame_paths(cache_dir: str | Path, clip_id: str) -> list[Path]:
    """The clip's cached frames in window order (stops at the first missing window)."""
    d = frame_dir(cache_dir, clip_id)
    out = []
    while (d / f"{len(out)}.jpg").is_file():
        out.append(d / f"{len(out)}.jpg")
    return out


def _windows(cache_dir: str | Path, clip_id: str) -> int:
    kinds = sorted((Path(cache_dir) / "features").iterdir()) if (Path(cache_dir) / "features").is_dir() else []
    for k in kinds:
        if feature_path(cache_dir, k.name, clip_id).is_file():
            return int(load_features(cache_dir, k.name, clip_id).shape[0])
    raise FileNotFoundError(f"no features cached for {clip_id}: run the 'features' step first (it fixes the window count)")


def extract_frames(clips: dict, cache_dir: str | Path, node: str, size: int, quality: int, batch: int = 32) -> int:
    """Extracts the frames of clips with a video and no cached frames; returns how many clips ran."""
    done_marker = ".complete"
    todo = [c for c in clips.values() if c.video is not None and not (frame_dir(cache_dir, c.id) / done_marker).is_file()]
    if not todo:
        return 0
    bar = Progress(len(todo), "frames (daemon video code)")
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        jobs = [{"video": str(c.video), "outDir": str(frame_dir(cache_dir, c.id)), "windows": _windows(cache_dir, c.id)}
                for c in chunk]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"size": size, "quality": quality, "jobs": jobs}, f)
        proc = subprocess.run([node, str(SCRIPT), f.name], capture_output=True, text=True)
        Path(f.name).unlink(missing_ok=True)
        if proc.returncode != 0:
            raise RuntimeError(f"frame extraction failed: {proc.stderr.strip()[-2000:]}")
        for c in chunk:
            (frame_dir(cache_dir, c.id) / done_marker).touch()
        bar.update(len(chunk))
    log(f"frames: {len(todo)} clips extracted into {cache_dir}")
    return len(todo)
