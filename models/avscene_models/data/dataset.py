"""Datasets in the TAU Urban Audio-Visual Scenes 2021 layout.

    ROOT/audio/*.wav   ROOT/video/*.mp4 (may be missing)   ROOT/meta.csv
    ROOT/evaluation_setup/fold1_train.csv   ROOT/evaluation_setup/fold1_evaluate.csv

All CSVs are tab-separated with a header. meta.csv: filename_audio, filename_video, scene_label, identifier
(the recording location, e.g. ``helsinki-3``); the fold files: filename_audio, filename_video, scene_label.
A clip's id is its audio file name without folder and extension.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

SPLIT_FILES = {"train": "evaluation_setup/fold1_train.csv", "evaluate": "evaluation_setup/fold1_evaluate.csv"}
# TAU file names: scene-city-location-segment(.wav); the location identifier is "city-location".
_TAU_NAME = re.compile(r"^[a-z_]+-([a-z]+-\d+)-\d+$")


@dataclass
class Clip:
    id: str
    audio: Path
    video: Path | None          # None when the video file is missing
    label: str
    location: str


@dataclass
class Dataset:
    root: Path
    classes: list[str]
    clips: dict[str, Clip]
    splits: dict[str, list[str]]
    problems: list[str] = field(default_factory=list)   # errors: the dataset cannot be used as is
    warnings: list[str] = field(default_factory=list)   # usable, but worth knowing

    def label_index(self, clip_id: str) -> int:
        return self.classes.index(self.clips[clip_id].label)


def _read_tsv(path: Path, required: tuple[str, ...], problems: list[str]) -> list[dict]:
    if not path.is_file():
        problems.append(f"{path}: missing")
        return []
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if not rows:
        problems.append(f"{path}: empty")
        return []
    header = rows[0]
    missing = [c for c in required if c not in header]
    if missing:
        hint = " (is it tab-separated?)" if len(header) == 1 else ""
        problems.append(f"{path}: header lacks column(s) {missing}{hint}; found {header}")
        return []
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"{path}:{n}: {len(row)} fields, header has {len(header)}")
            continue
        out.append(dict(zip(header, row)))
    return out


def _location(clip_id: str, identifier: str | None) -> str:
    if identifier:
        return identifier
    m = _TAU_NAME.match(clip_id)
    return m.group(1) if m else clip_id


def read_dataset(root: str | Path, classes: list[str]) -> Dataset:
    """Reads the layout; never raises for content problems — they are listed in ``problems``/``warnings``."""
    root = Path(root)
    problems: list[str] = []
    warnings: list[str] = []
    if not root.is_dir():
        return Dataset(root, classes, {}, {"train": [], "evaluate": []}, [f"{root}: not a directory"])
    meta = _read_tsv(root / "meta.csv", ("filename_audio", "scene_label"), problems)
    identifiers = {Path(r["filename_audio"]).stem: r.get("identifier") for r in meta}
    clips: dict[str, Clip] = {}
    splits: dict[str, list[str]] = {}
    rows_by_split = {s: _read_tsv(root / f, ("filename_audio", "scene_label"), problems) for s, f in SPLIT_FILES.items()}
    for row in meta + [r for rows in rows_by_split.values() for r in rows]:
        cid = Path(row["filename_audio"]).stem
        label = row["scene_label"].strip()
        if cid in clips:
            if clips[cid].label != label:
                problems.append(f"clip {cid}: label {clips[cid].label!r} in one file, {label!r} in another")
            continue
        if label not in classes:
            problems.append(f"clip {cid}: label {label!r} is not in the class list {classes}")
            continue
        audio = root / row["filename_audio"]
        video_name = row.get("filename_video") or f"video/{cid}.mp4"
        video = root / video_name
        clips[cid] = Clip(cid, audio, video if video.is_file() else None, label, _location(cid, identifiers.get(cid)))
    for split, rows in rows_by_split.items():
        ids = [Path(r["filename_audio"]).stem for r in rows]
        splits[split] = [i for i in ids if i in clips]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            problems.append(f"{SPLIT_FILES[split]}: clips listed twice: {sorted(dupes)[:5]}")
    overlap = set(splits.get("train", [])) & set(splits.get("evaluate", []))
    if overlap:
        problems.append(f"{len(overlap)} clips are in both train and evaluate, e.g. {sorted(overlap)[:3]}")
    leaked = ({clips[i].location for i in splits.get("train", [])} & {clips[i].location for i in splits.get("evaluate", [])})
    if leaked:
        warnings.append(f"{len(leaked)} recording locations are in both train and evaluate: {sorted(leaked)[:5]}")
    missing_audio = [c.id for c in clips.values() if not c.audio.is_file()]
    if missing_audio:
        problems.append(f"{len(missing_audio)} audio files missing, e.g. {missing_audio[:3]}")
    missing_video = [c.id for c in clips.values() if c.video is None]
    if missing_video:
        warnings.append(f"{len(missing_video)} of {len(clips)} video files missing (image nets skip those clips)")
    return Dataset(root, classes, clips, splits, problems, warnings)


def check_dataset(root: str | Path, classes: list[str]) -> dict:
    """A report of what is there, missing or malformed, including each WAV's rate/channels/length."""
    import soundfile as sf

    ds = read_dataset(root, classes)
    problems, warnings = list(ds.problems), list(ds.warnings)
    rates, lengths = {}, {}
    for clip in ds.clips.values():
        if not clip.audio.is_file():
            continue
        try:
            info = sf.info(str(clip.audio))
        except RuntimeError as e:
            problems.append(f"{clip.audio}: unreadable WAV ({e})")
            continue
        rates[info.samplerate] = rates.get(info.samplerate, 0) + 1
        secs = round(info.frames / info.samplerate, 2)
        lengths[secs] = lengths.get(secs, 0) + 1
        if info.frames < info.samplerate:
            problems.append(f"{clip.audio}: shorter than one second ({secs} s)")
        if info.channels > 2:
            warnings.append(f"{clip.audio}: {info.channels} channels, the first two are used")
    if len(rates) > 1 or (rates and 48000 not in rates):
        warnings.append(f"sample rates {rates}: features resample to 48 kHz")
    counts = {s: {c: 0 for c in classes} for s in ds.splits}
    for split, ids in ds.splits.items():
        for i in ids:
            counts[split][ds.clips[i].label] += 1
    untrained = [c for c in classes if counts.get("train", {}).get(c, 0) == 0]
    if untrained and ds.clips:
        warnings.append(f"classes without training clips: {untrained}")
    return {
        "root": str(ds.root), "ok": not problems, "clips": len(ds.clips),
        "splits": {s: len(v) for s, v in ds.splits.items()}, "classCounts": counts,
        "locations": len({c.location for c in ds.clips.values()}),
        "videos": sum(c.video is not None for c in ds.clips.values()),
        "sampleRates": rates, "durations": lengths, "untrainedClasses": untrained,
        "problems": problems, "warnings": warnings,
    }
