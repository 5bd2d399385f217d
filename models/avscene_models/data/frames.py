"""Center frames and the image tensors made from them, both by the daemon's own code (no train/serve skew).

- ``extract_frames``: the frame of every 1-s segment is picked by the daemon's ``FileVideoSource`` (the frame
  nearest the window's midpoint) and cached losslessly, as PNG at the video's own resolution:
  ``CACHE/frames/<clip>/<window>.png`` holds exactly the BGR frame the daemon would preprocess for that window.
  One frame per audio window (the window count comes from the cached features), so image and audio embeddings
  line up; a video shorter than its audio gives fewer frames. Disk: about 1–2 MB per 1280×720 frame.
- ``clip_tensors``: eval-time image tensors (embeddings for the fusion heads, outputs for calibration, fusion
  weights and evaluation) come from the daemon's ``preprocessFrame`` (``scripts/preprocess-frames.mjs``): resize
  of the full frame with OpenCV, center crop, BGR→RGB, /255, mean/std, NCHW — the numbers the engine feeds the
  exported net. Only training-time augmentation (train/image.py) works on the frames in PyTorch.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..progress import Progress, log
from .features import feature_path, load_features

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
EXTRACT_SCRIPT = SCRIPTS / "extract-frames.mjs"
PREPROCESS_SCRIPT = SCRIPTS / "preprocess-frames.mjs"
#: Marks a clip whose frames are all extracted (named for the PNG cache: older JPEG caches are redone).
DONE_MARKER = ".complete-png"
#: Preprocessed tensors per call of the daemon's code (EfficientNet-B5: 2.5 MB a frame).
CHUNK_BYTES = 256 << 20


def frame_dir(cache_dir: str | Path, clip_id: str) -> Path:
    return Path(cache_dir) / "frames" / clip_id


def frame_paths(cache_dir: str | Path, clip_id: str) -> list[Path]:
    """The clip's cached frames in window order (stops at the first missing window)."""
    d = frame_dir(cache_dir, clip_id)
    out = []
    while (d / f"{len(out)}.png").is_file():
        out.append(d / f"{len(out)}.png")
    return out


def _windows(cache_dir: str | Path, clip_id: str) -> int:
    kinds = sorted((Path(cache_dir) / "features").iterdir()) if (Path(cache_dir) / "features").is_dir() else []
    for k in kinds:
        if feature_path(cache_dir, k.name, clip_id).is_file():
            return int(load_features(cache_dir, k.name, clip_id).shape[0])
    raise FileNotFoundError(f"no features cached for {clip_id}: run the 'features' step first (it fixes the window count)")


def _run_node(node: str, script: Path, job: dict, what: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    try:
        proc = subprocess.run([node, str(script), f.name], capture_output=True, text=True)
    finally:
        Path(f.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (the daemon's code, {script.name}; is dist/ built?): "
                           f"{proc.stderr.strip()[-2000:]}")


def extract_frames(clips: dict, cache_dir: str | Path, node: str, batch: int = 32) -> int:
    """Extracts the frames of clips with a video and no cached frames; returns how many clips ran."""
    todo = [c for c in clips.values() if c.video is not None and not (frame_dir(cache_dir, c.id) / DONE_MARKER).is_file()]
    if not todo:
        return 0
    bar = Progress(len(todo), "frames (daemon video code)")
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        jobs = [{"video": str(c.video), "outDir": str(frame_dir(cache_dir, c.id)), "windows": _windows(cache_dir, c.id)}
                for c in chunk]
        _run_node(node, EXTRACT_SCRIPT, {"jobs": jobs}, "frame extraction")
        for c in chunk:
            (frame_dir(cache_dir, c.id) / DONE_MARKER).touch()
        bar.update(len(chunk))
    log(f"frames: {len(todo)} clips extracted into {cache_dir}")
    return len(todo)


def frame_tensors(frames: list[Path], preprocess: dict, node: str) -> np.ndarray:
    """``[N, 3, h, w]`` float32: the frames preprocessed by the daemon's code with a ``preprocess`` block."""
    with tempfile.TemporaryDirectory(prefix="avscene-tensors-") as tmp:
        out = Path(tmp) / "tensors.npy"
        _run_node(node, PREPROCESS_SCRIPT, {"preprocess": preprocess, "frames": [str(p) for p in frames],
                                            "out": str(out)}, "image preprocessing")
        return np.load(out)


def clip_tensors(cache_dir: str | Path, clip_ids, preprocess: dict, node: str) -> Iterator[tuple[str, np.ndarray]]:
    """``(clip id, [W, 3, h, w])`` for every clip with cached frames, several clips per call of the daemon's code."""
    h, w = preprocess["crop"]
    per_call = max(1, CHUNK_BYTES // (3 * h * w * 4))
    pending: list[tuple[str, list[Path]]] = []

    def flush():
        tensors = frame_tensors([p for _, paths in pending for p in paths], preprocess, node)
        start = 0
        for cid, paths in pending:
            yield cid, tensors[start:start + len(paths)]
            start += len(paths)
        pending.clear()

    for cid in clip_ids:
        paths = frame_paths(cache_dir, cid)
        if not paths:
            continue
        if pending and sum(len(p) for _, p in pending) + len(paths) > per_call:
            yield from flush()
        pending.append((cid, paths))
    if pending:
        yield from flush()
