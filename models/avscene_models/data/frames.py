"""Center frames and the image tensors made from them, both by the daemon's own code (no train/serve skew).

- ``extract_frames``: the frame of every 1-s segment is picked by the daemon's ``FileVideoSource`` (the frame
  nearest the window's midpoint) and cached losslessly, as lossless WebP at the video's own resolution:
  ``CACHE/frames/<clip>/<window>.webp`` holds exactly the BGR frame the daemon would preprocess for that window.
  One frame per audio window (the window count comes from the cached features), so image and audio embeddings
  line up; a video shorter than its audio gives fewer frames. Disk: see models/README.md (measured per clip).
- ``clip_tensors``: eval-time image tensors (embeddings for the fusion heads, outputs for calibration, fusion
  weights and evaluation) come from the daemon's ``preprocessFrame`` (``scripts/preprocess-frames.mjs``): resize
  of the full frame with OpenCV, center crop, BGR→RGB, /255, mean/std, NCHW — the numbers the engine feeds the
  exported net. Only training-time augmentation (train/image.py) works on the frames in PyTorch.
"""
from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from ..progress import Progress, log
from .features import feature_path, load_features

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
EXTRACT_SCRIPT = SCRIPTS / "extract-frames.mjs"
PREPROCESS_SCRIPT = SCRIPTS / "preprocess-frames.mjs"
#: Marks a clip whose frames are all extracted (named for the format: older PNG or JPEG caches are redone).
DONE_MARKER = ".complete-webp"
FRAME_SUFFIX = ".webp"
#: Preprocessed tensors per call of the daemon's code (EfficientNet-B5: 2.5 MB a frame).
CHUNK_BYTES = 256 << 20


def frame_dir(cache_dir: str | Path, clip_id: str) -> Path:
    return Path(cache_dir) / "frames" / clip_id


def frame_paths(cache_dir: str | Path, clip_id: str) -> list[Path]:
    """The clip's cached frames in window order (stops at the first missing window)."""
    d = frame_dir(cache_dir, clip_id)
    out = []
    while (d / f"{len(out)}{FRAME_SUFFIX}").is_file():
        out.append(d / f"{len(out)}{FRAME_SUFFIX}")
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


def extract_frames(clips: dict, cache_dir: str | Path, node: str, batch: int = 32, jobs: int = 1) -> int:
    """Extracts the frames of clips with a video and no cached frames, ``jobs`` calls of the daemon's code at a time
    (lossless WebP encoding costs ~0.8 CPU-s per 1280×720 frame); returns how many clips ran."""
    todo = [c for c in clips.values() if c.video is not None and not (frame_dir(cache_dir, c.id) / DONE_MARKER).is_file()]
    if not todo:
        return 0
    bar = Progress(len(todo), "frames (daemon video code)")

    def run_chunk(chunk):
        jobs_spec = [{"video": str(c.video), "outDir": str(frame_dir(cache_dir, c.id)),
                      "windows": _windows(cache_dir, c.id)} for c in chunk]
        _run_node(node, EXTRACT_SCRIPT, {"jobs": jobs_spec}, "frame extraction")
        for c in chunk:
            (frame_dir(cache_dir, c.id) / DONE_MARKER).touch()
        return len(chunk)

    chunks = [todo[start:start + batch] for start in range(0, len(todo), batch)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for n in pool.map(run_chunk, chunks):
            bar.update(n)
    log(f"frames: {len(todo)} clips extracted into {cache_dir}")
    return len(todo)


def frame_tensors(frames: list[Path], preprocess: dict, node: str) -> np.ndarray:
    """``[N, 3, h, w]`` float32: the frames preprocessed by the daemon's code with a ``preprocess`` block."""
    with tempfile.TemporaryDirectory(prefix="avscene-tensors-") as tmp:
        out = Path(tmp) / "tensors.npy"
        _run_node(node, PREPROCESS_SCRIPT, {"preprocess": preprocess, "frames": [str(p) for p in frames],
                                            "out": str(out)}, "image preprocessing")
        return np.load(out)


def clip_tensors(cache_dir: str | Path, clip_ids, preprocess: dict, node: str,
                 jobs: int = 1) -> Iterator[tuple[str, np.ndarray]]:
    """``(clip id, [W, 3, h, w])`` for every clip with cached frames, in order: several clips per call of the
    daemon's code, ``jobs`` calls at a time (decoding a 1280×720 frame costs tens of ms of CPU)."""
    h, w = preprocess["crop"]
    per_call = max(1, CHUNK_BYTES // (3 * h * w * 4))
    chunks: list[list[tuple[str, list[Path]]]] = [[]]
    for cid in clip_ids:
        paths = frame_paths(cache_dir, cid)
        if not paths:
            continue
        if chunks[-1] and sum(len(p) for _, p in chunks[-1]) + len(paths) > per_call:
            chunks.append([])
        chunks[-1].append((cid, paths))

    def run(chunk):
        return chunk, frame_tensors([p for _, paths in chunk for p in paths], preprocess, node)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        # in order, with at most `jobs` chunks decoding ahead of the consumer
        pending = []
        for chunk in (c for c in chunks if c):
            pending.append(pool.submit(run, chunk))
            if len(pending) > jobs:
                yield from _split(*pending.pop(0).result())
        for fut in pending:
            yield from _split(*fut.result())


def _split(chunk: list[tuple[str, list[Path]]], tensors: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    start = 0
    for cid, paths in chunk:
        yield cid, tensors[start:start + len(paths)]
        start += len(paths)
