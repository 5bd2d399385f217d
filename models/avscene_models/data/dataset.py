"""Datasets in the TAU Urban Audio-Visual Scenes 2021 layout.

    ROOT/audio/*.wav   ROOT/video/*.mp4 (may be missing)   ROOT/meta.csv
    ROOT/evaluation_setup/fold1_train.csv   ROOT/evaluation_setup/fold1_evaluate.csv

All CSVs are tab-separated with a header. meta.csv: filename_audio, filename_video, scene_label, identifier
(the recording location, e.g. ``helsinki-3``); the fold files: filename_audio, filename_video, scene_label.
A clip's id is its audio file name without folder and extension. The three files' names are the config's
``datasetFiles`` (``files`` here); the labels must be among the config's ``classes``.

Recording locations group the held-out splits (a location is never both trained on and held out). Without an
``identifier`` column they come from TAU file names (``scene-city-location-segment``); failing both, every clip is
its own location, and ``warnings`` says so.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FILES = {"meta": "meta.csv", "train": "evaluation_setup/fold1_train.csv",
                 "evaluate": "evaluation_setup/fold1_evaluate.csv"}
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


def _location(clip_id: str, identifier: str | None) -> str | None:
    """The clip's recording location: the ``identifier`` column, else the TAU file name's, else None."""
    if identifier:
        return identifier
    m = _TAU_NAME.match(clip_id)
    return m.group(1) if m else None


def read_dataset(root: str | Path, classes: list[str], files: dict | None = None) -> Dataset:
    """Reads the layout; never raises for content problems — they are listed in ``problems``/``warnings``."""
    root = Path(root)
    files = {**DEFAULT_FILES, **(files or {})}
    split_files = {s: files[s] for s in ("train", "evaluate")}
    problems: list[str] = []
    warnings: list[str] = []
    if not root.is_dir():
        return Dataset(root, classes, {}, {"train": [], "evaluate": []}, [f"{root}: not a directory"])
    meta = _read_tsv(root / files["meta"], ("filename_audio", "scene_label"), problems)
    identifiers = {Path(r["filename_audio"]).stem: r.get("identifier") for r in meta}
    clips: dict[str, Clip] = {}
    splits: dict[str, list[str]] = {}
    rows_by_split = {s: _read_tsv(root / f, ("filename_audio", "scene_label"), problems) for s, f in split_files.items()}
    unknown: dict[str, int] = {}
    no_location: list[str] = []
    for row in meta + [r for rows in rows_by_split.values() for r in rows]:
        cid = Path(row["filename_audio"]).stem
        label = row["scene_label"].strip()
        if cid in clips:
            if clips[cid].label != label:
                problems.append(f"clip {cid}: label {clips[cid].label!r} in one file, {label!r} in another")
            continue
        if label not in classes:
            unknown[label] = unknown.get(label, 0) + 1
            continue
        audio = root / row["filename_audio"]
        video_name = row.get("filename_video") or f"video/{cid}.mp4"
        video = root / video_name
        location = _location(cid, identifiers.get(cid))
        if location is None:
            no_location.append(cid)
        clips[cid] = Clip(cid, audio, video if video.is_file() else None, label, location or cid)
    if unknown:
        problems.append(f"labels {sorted(unknown)} ({sum(unknown.values())} rows) are not in the config's `classes` "
                        f"{list(classes)}: list every class of your dataset there (models/README.md, \"Your own data\")")
    if no_location:
        warnings.append(f"{len(no_location)} of {len(clips)} clips have no recording location (no `identifier` column in "
                        f"{files['meta']}, and file names not in TAU's scene-city-location-segment form, e.g. "
                        f"{no_location[0]!r}): each counts as its own location, so clips recorded at one place can be "
                        "both trained on and held out; add an `identifier` column (the recording location) to "
                        f"{files['meta']}")
    for split, rows in rows_by_split.items():
        ids = [Path(r["filename_audio"]).stem for r in rows]
        splits[split] = [i for i in ids if i in clips]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            problems.append(f"{split_files[split]}: clips listed twice: {sorted(dupes)[:5]}")
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


def audio_rates(clips) -> dict[int, int]:
    """Sample rate → number of clips (from the WAV headers) of ``clips`` whose audio exists."""
    import soundfile as sf

    rates: dict[int, int] = {}
    for clip in clips:
        if clip.audio.is_file():
            try:
                rate = sf.info(str(clip.audio)).samplerate
            except RuntimeError:
                continue
            rates[rate] = rates.get(rate, 0) + 1
    return rates


def check_dataset(root: str | Path, classes: list[str], files: dict | None = None) -> dict:
    """A report of what is there, missing or malformed, including each WAV's rate/channels/length."""
    import soundfile as sf

    ds = read_dataset(root, classes, files)
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
