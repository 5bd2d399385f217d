"""What every pipeline step shares: the run context (config, dataset, stages, artefact paths), the heads and
fusion systems a config names, and the per-clip output files.

Work directory::

    WORK/cache/features/<kind>/<clip>.npy      WORK/cache/frames/<clip>/<window>.webp   (or cacheDir)
    WORK/stages/<stage>/audio/<net>.pt  image/<net>.pt  heads/<head>.pt     WORK/places365/<arch>-places365.pt
    WORK/stages/<stage>/emb/<net>.npz         clip → embeddings ([W,6,D] audio, [W,E] image)
    WORK/stages/<stage>/outputs/<head>.npz    clip → logits ([W,6,C] audio-only heads, [W,C] others)
    WORK/calibration.json  WORK/fusion.json  WORK/report/{report.json,report.md,confusion-*.png}
    WORK/run.json  WORK/steps/<step>.done     (pipeline --resume: the run's config and its finished steps)

Stages: the held-out folds (``heldout``: one location-grouped split, or cross-validation) give held-out outputs
for calibration and the fusion weights; the final stage's models are evaluated on the evaluate split and exported.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import dataset_hint
from ..data.dataset import read_dataset
from ..systems import (FEATURE_NET, REPORT_PAIRS, REPORT_SYSTEMS, audio_head_key, audio_net_key, fusion_head_key,
                       image_head_key, image_net_key)
from ..train.common import Stage, make_stages, pick_device
from ..train.distributed import is_main


class Run:
    """A config, its dataset and its stages; paths of every artefact."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.work = Path(cfg["workDir"])
        self.work.mkdir(parents=True, exist_ok=True)
        self.ds = read_dataset(cfg["dataset"], cfg["classes"], cfg["datasetFiles"])
        if self.ds.problems:
            raise ValueError(f"dataset {cfg['dataset']}: " + "; ".join(self.ds.problems[:5])
                             + (dataset_hint(cfg) or " (run the 'check' step)"))
        self.stages, self.final = make_stages(self.ds, cfg["heldout"], cfg["seed"], bool(cfg["submission"]))
        # What export packs: the final stage's models (the ones the tables score), or with `submission` the ones
        # trained on all the development data.
        self.export_stage = self.stages[-1] if cfg["submission"] else self.final
        self.device = pick_device(cfg["device"])
        self.labels = {cid: self.ds.label_index(cid) for cid in self.ds.clips}
        if is_main():
            (self.work / "stages.json").write_text(json.dumps(
                {s.name: {"train": list(s.train), "heldout": list(s.heldout)} for s in self.stages}, indent=1))

    @property
    def evaluate_split(self) -> str:
        """The evaluate split's name (its file's stem, e.g. ``fold1_evaluate``)."""
        return Path(self.cfg["datasetFiles"]["evaluate"]).stem

    def stage_dir(self, stage: Stage) -> Path:
        return self.work / "stages" / stage.name

    def predict_ids(self, stage: Stage) -> list[str]:
        """Clips whose outputs a stage writes: its held-out clips, and the evaluate split for the final stage."""
        ids = list(stage.heldout)
        if stage == self.final:
            ids += self.ds.splits["evaluate"]
        return ids

    def with_video(self, ids) -> list[str]:
        return [i for i in ids if self.ds.clips[i].video is not None]

    # ---- nets and heads named by the config
    def audio_nets(self) -> list[dict]:
        return [dict(n) for n in self.cfg["audio"]["nets"]]

    def embedding_net(self, feature: str) -> str | None:
        """The audio net key whose embeddings feed the fusion heads for ``feature`` (report: §4's choice)."""
        arch = self.cfg["heads"]["embeddingNets"].get(feature, FEATURE_NET.get(feature))
        key = audio_net_key(feature, arch)
        return key if any(audio_net_key(n["feature"], n["architecture"]) == key for n in self.audio_nets()) else None

    def audio_head(self, net: dict) -> str:
        key = audio_net_key(net["feature"], net["architecture"])
        return audio_head_key(net["feature"]) if self.embedding_net(net["feature"]) == key else f"{key}-audio"

    def fusion_pairs(self) -> list[tuple[str, str]]:
        pairs = self.cfg["heads"]["fusionPairs"]
        feats = [n["feature"] for n in self.audio_nets() if self.embedding_net(n["feature"]) == audio_net_key(n["feature"], n["architecture"])]
        if pairs == "all":
            return [(a, f) for a in self.cfg["image"]["nets"] for f in feats]
        return [tuple(p) for p in pairs]

    def head_table(self) -> dict[str, dict]:
        """Every head the config trains: {key: {kind, audioNet, imageNet, feature, architecture}}."""
        table = {}
        for n in self.audio_nets():
            table[self.audio_head(n)] = {"kind": "audio", "audioNet": audio_net_key(n["feature"], n["architecture"]),
                                         "imageNet": None, "feature": n["feature"], "architecture": n["architecture"]}
        for arch in self.cfg["image"]["nets"]:
            table[image_head_key(arch)] = {"kind": "image", "audioNet": None, "imageNet": image_net_key(arch),
                                           "architecture": arch}
        for arch, feat in self.fusion_pairs():
            table[fusion_head_key(arch, feat)] = {"kind": "fusion", "audioNet": self.embedding_net(feat),
                                                  "imageNet": image_net_key(arch), "feature": feat, "architecture": arch}
        return table

    def systems(self) -> dict[str, dict]:
        """Decision-fusion systems: audio-only / image-only over the embedding nets' heads, the report's Table 5
        (when fusion heads exist) and any the config names."""
        table = self.head_table()
        systems: dict[str, dict] = {}
        audio = [h for h, d in table.items() if d["kind"] == "audio" and self.embedding_net(d["feature"]) == d["audioNet"]]
        image = [h for h, d in table.items() if d["kind"] == "image"]
        for name, heads in (("audio", audio), ("image", image)):
            if heads:
                systems[f"{name}-weighted"] = {"heads": heads, "method": "weighted"}
                systems[f"{name}-unweighted"] = {"heads": heads, "method": "unweighted"}
        wanted = self.cfg["fusion"]["systems"]
        if wanted == "report":
            for name, (ids, method, _) in REPORT_SYSTEMS.items():
                heads = [fusion_head_key(*REPORT_PAIRS[i]) for i in ids]
                if all(h in table for h in heads):
                    systems[name] = {"heads": heads, "method": method, "tableIds": list(ids)}
        else:
            for name, spec in wanted.items():
                missing = [h for h in spec["heads"] if h not in table]
                if missing:
                    raise ValueError(f"fusion system {name}: heads {missing} are not trained by this config")
                systems[name] = {"heads": list(spec["heads"]), "method": spec.get("method", "weighted")}
        return systems

    # ---- outputs
    def heldout_outputs(self, head: str) -> dict[str, np.ndarray]:
        """Out-of-fold outputs of ``head``, clip → logits, over every stage's held-out clips."""
        merged: dict[str, np.ndarray] = {}
        for stage in self.stages:
            path = self.stage_dir(stage) / "outputs" / f"{head}.npz"
            if stage.heldout and path.is_file():
                outs = load_npz(path)
                merged.update({i: outs[i] for i in stage.heldout if i in outs})
        return merged

    def evaluate_outputs(self, head: str) -> dict[str, np.ndarray] | None:
        """Final-stage outputs of ``head`` on the evaluate split, clip → logits (None when it has none)."""
        path = self.stage_dir(self.final) / "outputs" / f"{head}.npz"
        if not path.is_file():
            return None
        outs = load_npz(path)
        return {i: outs[i] for i in self.ds.splits["evaluate"] if i in outs} or None

    def aligned(self, per_head: list[dict[str, np.ndarray]], order) -> tuple[list[np.ndarray], np.ndarray]:
        """Several heads' per-clip outputs over the clips they all cover (in ``order``) and the windows they all
        have, concatenated into aligned segment arrays, with the labels."""
        ids = [i for i in order if all(i in d for d in per_head)]
        if not ids:
            return [np.zeros((0,)) for _ in per_head], np.zeros((0,), dtype=np.int64)
        counts = {i: min(len(d[i]) for d in per_head) for i in ids}
        arrays = [np.concatenate([d[i][:counts[i]] for i in ids]) for d in per_head]
        labels = np.concatenate([np.full(counts[i], self.labels[i]) for i in ids])
        return arrays, labels

    def calibration(self) -> dict:
        """``calibration.json``: {"method", "heads": {head: {"temperature", "heldout"}}} (written by calibrate)."""
        path = self.work / "calibration.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run the 'calibrate' step first")
        return json.loads(path.read_text())

    def read_json(self, name: str, step: str) -> dict:
        path = self.work / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run the '{step}' step first")
        return json.loads(path.read_text())


def save_npz(path: Path, data: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
