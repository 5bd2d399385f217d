"""Pipeline configuration: JSON, merged over DEFAULTS; relative paths resolve against the config file's folder.

See models/README.md for every key; configs/report-tau2021.json (the report on a GPU host) and configs/demo.json
(the demo bundle) are complete examples.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from . import TAU_CLASSES
from .data.dataset import DEFAULT_FILES
from .sources import check_sources

MODELS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = MODELS_DIR.parent

DEFAULTS: dict = {
    "name": "avscene",
    "description": "",
    "dataset": None,                       # folder in the TAU layout
    "workDir": None,                       # checkpoints, caches, predictions, reports
    "cacheDir": None,                      # features + frames cache (default workDir/cache); shareable between runs
    # The dataset's class names, in the order the bundle's outputs use (any list: a dataset of your own names its
    # classes here; every label in meta.csv / the split files must be one of them).
    "classes": list(TAU_CLASSES),
    # The dataset's files, relative to `dataset` (tab-separated, with a header; see data/dataset.py).
    "datasetFiles": dict(DEFAULT_FILES),
    "seed": 0,
    "device": "auto",                      # auto | cpu | cuda (under torchrun: each rank's own GPU)
    "amp": True,                           # mixed precision (torch.autocast float16) when training on CUDA
    "daemon": {"node": "node", "cli": str(REPO_ROOT / "dist" / "cli" / "main.js")},
    "features": {"kinds": ["logmel", "scalogram", "bark"], "batch": 64, "jobs": None},   # jobs: daemon CLI threads
    # clips per call of the daemon's frame extraction (lossless WebP, native size); jobs: calls at a time ("auto": CPUs)
    "frames": {"batch": 32, "jobs": "auto"},
    # Held-out data for calibration and fusion weights, always grouped by recording location:
    #   split: one fold of `fraction` of the training locations (final models trained without it, or retrained
    #          on everything with `retrain`); crossval: `folds` folds (out-of-fold predictions), final on everything.
    "heldout": {"mode": "split", "fraction": 0.2, "folds": 4, "retrain": False},
    # true: after evaluation, train the exported models once more on all the development data (train + evaluate
    # splits), as §3.1.2 did before submitting; the tables still score the models trained on the train split.
    "submission": False,
    "audio": {
        "nets": [                          # the report: both nets on every feature (Table 2)
            {"feature": "logmel", "architecture": "resnet1d"},
            {"feature": "scalogram", "architecture": "resnet1d"},
            {"feature": "bark", "architecture": "dcnn"},
        ],
        "width": 1.0, "fc": [2048, 1024, 1024], "dropout": 0.3,
        "pooling": "max",                  # the blocks' pooling: max | avg (Table 1 says "Pooling")
        "standardize": True,               # per channel × band standardisation of the input, fitted on training frames
        "epochs": 30, "batchSize": 128, "lrMax": 0.1, "lrMin": 1e-5, "restartEpochs": 10, "restartMult": 1,
        "momentum": 0.9, "weightDecay": 1e-4,
        "balanced": False,                 # class-balanced loss (for uneven data; TAU itself is balanced)
        "augment": {"mixup": 0.0, "freqShift": 0},
    },
    "image": {
        "nets": [],                        # torchvision names, e.g. resnet50, efficientnet_b5, efficientnet_v2_s, swin_t
        "size": None,                      # crop size override (tests); null = the architecture's own (224/456/384)
        "weights": {},                     # {arch: {"imagenet": path, "places365": path, "places365Data": ImageFolder}}
        "epochs": 20, "batchSize": 32, "lr": 0.01, "warmupEpochs": 1, "momentum": 0.9, "weightDecay": 1e-4,
        "mixup": 0.2, "brightness": 0.3, "contrast": 0.3, "places365Epochs": 5,
        "cropScale": [0.08, 1.0],          # RandomResizedCrop's area range (torchvision's default)
        # stochastic depth (drop-path) of EfficientNet / Swin-T: null = torchvision's (0.2 at the deepest block),
        # a number = that at the deepest block (scaled the same way), 0 = none (the drop-path modules removed)
        "stochasticDepth": None,
        "workers": "auto",                 # DataLoader workers: a number or "auto" (the host's CPUs per rank, ≤ 8)
    },
    "heads": {
        "fusionPairs": "all",              # "all" (every image net × every embedding feature) or [[arch, feature], …]
        "embeddingNets": {"logmel": "resnet1d", "scalogram": "resnet1d", "bark": "dcnn"},
        "hidden": [512, 256], "attentionDim": 128, "dropout": 0.0,
        "epochs": 200, "lr": 1e-5, "batchSize": 64, "weightDecay": 0.0,
    },
    # none: heads scored on their raw softmax, as the report does (configs/report-tau2021.json);
    # temperature: one temperature per head fitted on held-out outputs (deployment bundles: calibrated probabilities)
    "calibration": {"method": "temperature"},
    # systems: "report" (Table 5 I-IV) or {name: {heads: [...], method, minWeight}}; minWeight > 0 keeps every
    # head of a weighted system in the bundle (the grid search then only tries weights ≥ minWeight)
    # objective: the held-out log loss the grid search minimises: pooled (over segments) or classAverage (per class,
    # then the mean over classes: DCASE's ranking figure)
    "fusion": {"step": 0.05, "systems": "report", "minWeight": 0.0, "objective": "pooled"},
    # out: where the bundle goes (default workDir/bundle — never the daemon's bundle unless you say so);
    # reference: a bundle this run should reproduce (export says whether its metrics and weights match);
    # sign: an Ed25519 private key (PEM, from `keygen`): export signs the bundle (bundle.sig) and `deploy` packs it
    "export": {"system": "III", "out": None, "version": "1.0.0", "fallback": True, "parity": True, "reference": None,
               "sign": None},
    # dotted key → "report §N…" or "ours: <reason>" (see sources.py); evaluate lists the "ours" values
    "sources": {},
}

_PATH_KEYS = (("dataset",), ("workDir",), ("cacheDir",), ("export", "out"), ("export", "reference"), ("export", "sign"),
              ("daemon", "cli"))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) and out[k] else v
    return out


def _set(cfg: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def load_config(path: str | Path, overrides: list[str] = ()) -> dict:
    """Reads a config, applies ``KEY=JSON`` overrides (a bare word is taken as a string), resolves paths."""
    path = Path(path)
    try:
        user = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"config {path} not found") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"config {path} is not valid JSON: {e}") from None
    unknown = set(user) - set(DEFAULTS) - {"$comment"}
    if unknown:
        raise ValueError(f"config {path}: unknown keys {sorted(unknown)} (see models/README.md)")
    stale = sorted(set(user.get("frames", {})) - set(DEFAULTS["frames"]))
    if stale:
        raise ValueError(f"config {path}: frames.{stale[0]} is no longer used: frames are cached losslessly at the "
                         "video's own size and preprocessed by the daemon's code; remove it (see models/README.md)")
    cfg = _merge(DEFAULTS, user)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: use KEY=JSON")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        _set(cfg, key, value)
    check_sources(cfg["sources"], f"config {path}")
    cfg["datasetAsWritten"] = cfg["dataset"]
    base = path.resolve().parent
    for keys in _PATH_KEYS:
        node = cfg
        for k in keys[:-1]:
            node = node[k]
        if node.get(keys[-1]):
            node[keys[-1]] = str((base / node[keys[-1]]).resolve())
    for files in cfg["image"]["weights"].values():        # local weight files / Places365 folders
        for k, v in files.items():
            if v:
                files[k] = str((base / v).resolve())
    for required in ("dataset", "workDir"):
        if not cfg[required]:
            raise ValueError(f"config {path}: '{required}' is required")
    if not cfg["cacheDir"]:
        cfg["cacheDir"] = str(Path(cfg["workDir"]) / "cache")
    cfg["configPath"] = str(path.resolve())
    return cfg


def dataset_hint(cfg: dict) -> str:
    """For a dataset that is not a directory: a config copied elsewhere keeps its relative ``dataset``, which then
    resolves against the copy's folder; say how to point it at the data."""
    given = cfg.get("datasetAsWritten")
    if Path(cfg["dataset"]).is_dir():
        return ""
    how = "--set dataset=/path/to/TAU-urban-audio-visual-scenes-2021-development"
    if given and not Path(given).is_absolute():
        return (f" (the config's dataset {given!r} is relative to the config's folder, {Path(cfg['configPath']).parent}; "
                f"give the dataset's location with {how})")
    return f" (give the dataset's location with {how})"
