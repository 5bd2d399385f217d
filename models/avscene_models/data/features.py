"""Audio features computed by the daemon's own code (no train/serve skew), cached as .npy.

    node dist/cli/main.js features --list FILES.txt --kind logmel,bark,scalogram --out-dir DIR --window 1

gives, per WAV and kind, ``[windows, 6, 2, F]`` float32: every 1-s window framed on its own, exactly as the daemon
frames live audio. The cache holds ``CACHE/features/<kind>/<clip id>.npy``; clips already there are not recomputed.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import FEATURE_BANDS, FEATURE_CHANNELS, FRAMES_PER_WINDOW
from ..progress import Progress, log


def feature_path(cache_dir: str | Path, kind: str, clip_id: str) -> Path:
    return Path(cache_dir) / "features" / kind / f"{clip_id}.npy"


def load_features(cache_dir: str | Path, kind: str, clip_id: str) -> np.ndarray:
    """``[W, 6, 2, F]`` float32 (memory-mapped)."""
    path = feature_path(cache_dir, kind, clip_id)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: features not computed (run the 'features' step)")
    return np.load(path, mmap_mode="r")


def _validate(arr: np.ndarray, kind: str, where: Path) -> None:
    expected = (FRAMES_PER_WINDOW, FEATURE_CHANNELS, FEATURE_BANDS[kind])
    if arr.ndim != 4 or arr.shape[1:] != expected or arr.dtype != np.float32 or arr.shape[0] < 1:
        raise ValueError(f"{where}: shape {arr.shape} {arr.dtype}, expected [windows, {', '.join(map(str, expected))}] float32")
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: contains NaN/inf")


def _daemon_output(out_dir: Path, audio: Path, kind: str) -> Path:
    """Where the daemon's CLI writes a file's features: OUT/<stem>.<kind>.npy."""
    return out_dir / f"{audio.stem}.{kind}.npy"


def extract_features(clips: dict, kinds: list[str], cache_dir: str | Path, node: str, cli: str, batch: int = 64,
                     jobs: int | None = None) -> int:
    """Computes the missing features of ``clips`` ({id: Clip}) with the daemon's CLI; returns how many clips ran."""
    if not Path(cli).is_file():
        raise FileNotFoundError(f"{cli}: the daemon's CLI is not built (run `npm run build` at the repository root)")
    todo = [c for c in clips.values() if not all(feature_path(cache_dir, k, c.id).is_file() for k in kinds)]
    if not todo:
        return 0
    stems = {}
    for c in todo:
        if c.audio.stem in stems:
            raise ValueError(f"two clips share the file name {c.audio.stem}: {stems[c.audio.stem]} and {c.audio}")
        stems[c.audio.stem] = c.audio
    bar = Progress(len(todo), "features (daemon CLI)")
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        with tempfile.TemporaryDirectory(prefix="avscene-features-") as tmp:
            tmp = Path(tmp)
            (tmp / "files.txt").write_text("".join(f"{c.audio}\n" for c in chunk))
            cmd = [node, cli, "features", "--list", str(tmp / "files.txt"), "--kind", ",".join(kinds),
                   "--out-dir", str(tmp / "out"), "--window", "1"] + (["--jobs", str(jobs)] if jobs else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
            for c in chunk:
                for k in kinds:
                    src = _daemon_output(tmp / "out", c.audio, k)
                    if not src.is_file():
                        raise RuntimeError(f"the daemon's features CLI wrote no {src.name} for {c.audio}")
                    _validate(np.load(src, mmap_mode="r"), k, src)
                    dst = feature_path(cache_dir, k, c.id)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(src), dst)
        bar.update(len(chunk))
    log(f"features: {len(todo)} clips computed into {cache_dir}")
    return len(todo)
