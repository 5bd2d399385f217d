"""The pipeline steps, each resumable (it skips what its outputs already show as done), run by
``python3 -m avscene_models <step> CONFIG.json`` or all together by ``pipeline``.

Work directory::

    WORK/cache/features/<kind>/<clip>.npy      WORK/cache/frames/<clip>/<window>.png   (or cacheDir)
    WORK/stages/<stage>/audio/<net>.pt  image/<net>.pt  heads/<head>.pt
    WORK/stages/<stage>/emb/<net>.npz         clip → embeddings ([W,6,D] audio, [W,E] image)
    WORK/stages/<stage>/outputs/<head>.npz    clip → logits ([W,6,C] audio-only heads, [W,C] others)
    WORK/calibration.json  WORK/fusion.json  WORK/report/{report.json,report.md,confusion-*.png}

Stages: the held-out folds (``heldout``: one location-grouped split, or cross-validation) give held-out outputs
for calibration and the fusion weights; the final stage's models are evaluated on the evaluate split and exported.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import __version__
from .baseline import LogisticBaseline, window_stats
from .calibration import fit_temperature, head_probs
from .data.dataset import check_dataset, read_dataset
from .data.features import extract_features as _extract_features, load_features
from .decision import fuse as fuse_probs, grid_search
from .metrics import log_loss, plot_confusion, summarize
from .progress import log
from .systems import (FEATURE_NET, REPORT_PAIRS, REPORT_SYSTEMS, audio_head_key, audio_net_key, fusion_head_key,
                      image_head_key, image_net_key)
from .train.common import Stage, make_stages, pick_device


# ---------------------------------------------------------------- context

class Run:
    """A config, its dataset and its stages; paths of every artefact."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.work = Path(cfg["workDir"])
        self.work.mkdir(parents=True, exist_ok=True)
        self.ds = read_dataset(cfg["dataset"], cfg["classes"])
        if self.ds.problems:
            raise ValueError(f"dataset {cfg['dataset']}: " + "; ".join(self.ds.problems[:5]) + " (run the 'check' step)")
        self.stages, self.final = make_stages(self.ds, cfg["heldout"], cfg["seed"])
        self.device = pick_device(cfg["device"])
        self.labels = {cid: self.ds.label_index(cid) for cid in self.ds.clips}
        (self.work / "stages.json").write_text(json.dumps(
            {s.name: {"train": list(s.train), "heldout": list(s.heldout)} for s in self.stages}, indent=1))

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


def _save_npz(path: Path, data: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------- steps

def check_data(cfg: dict) -> dict:
    report = check_dataset(cfg["dataset"], cfg["classes"])
    print(json.dumps(report, indent=2))
    if not report["ok"]:
        raise ValueError(f"dataset {cfg['dataset']} has {len(report['problems'])} problem(s): see above")
    return report


def extract_features(cfg: dict) -> None:
    run = Run(cfg)
    _extract_features(run.ds.clips, cfg["features"]["kinds"], cfg["cacheDir"], cfg["daemon"]["node"],
                      cfg["daemon"]["cli"], cfg["features"]["batch"], cfg["features"]["jobs"])


def extract_frames(cfg: dict) -> None:
    if not cfg["image"]["nets"]:
        return
    from .data.frames import extract_frames as _extract
    run = Run(cfg)
    _extract(run.ds.clips, cfg["cacheDir"], cfg["daemon"]["node"], cfg["frames"]["batch"])


def train_audio(cfg: dict) -> None:
    from .train.audio import train_audio_net
    run = Run(cfg)
    for s_i, stage in enumerate(run.stages):
        for n_i, net in enumerate(run.audio_nets()):
            key = audio_net_key(net["feature"], net["architecture"])
            train_audio_net(cfg, net, stage.train, run.labels, run.stage_dir(stage) / "audio" / f"{key}.pt",
                            run.device, seed=cfg["seed"] + 1000 * s_i + n_i)


def train_image(cfg: dict) -> None:
    if not cfg["image"]["nets"]:
        return
    from .train.image import train_image_net
    run = Run(cfg)
    for s_i, stage in enumerate(run.stages):
        for n_i, arch in enumerate(cfg["image"]["nets"]):
            train_image_net(cfg, arch, run.with_video(stage.train), run.labels,
                            run.stage_dir(stage) / "image" / f"{image_net_key(arch)}.pt", run.device,
                            seed=cfg["seed"] + 1000 * s_i + 100 + n_i)


def embed(cfg: dict) -> None:
    """Embeddings of every clip a stage needs, and the outputs of the audio-only and image-only heads."""
    from .train.audio import embed_and_predict, load_audio_model
    run = Run(cfg)
    need_emb = bool(run.fusion_pairs())
    for stage in run.stages:
        sdir = run.stage_dir(stage)
        pred_ids = run.predict_ids(stage)
        emb_ids = list(stage.train) + pred_ids if need_emb else []
        for net in run.audio_nets():
            key = audio_net_key(net["feature"], net["architecture"])
            out_path = sdir / "outputs" / f"{run.audio_head(net)}.npz"
            emb_path = sdir / "emb" / f"{key}.npz"
            want_emb = need_emb and run.embedding_net(net["feature"]) == key
            if out_path.is_file() and (emb_path.is_file() or not want_emb):
                continue
            model, head = load_audio_model(sdir / "audio" / f"{key}.pt")
            ids = list(dict.fromkeys(pred_ids + (emb_ids if want_emb else [])))
            embs, logits = embed_and_predict(model, head, cfg["cacheDir"], net["feature"], ids, run.device)
            _save_npz(out_path, {i: logits[i] for i in pred_ids})
            if want_emb:
                _save_npz(emb_path, {i: embs[i] for i in emb_ids})
        if cfg["image"]["nets"]:
            from .train.image import embed_and_predict_image, load_image_model
            for arch in cfg["image"]["nets"]:
                key = image_net_key(arch)
                out_path, emb_path = sdir / "outputs" / f"{image_head_key(arch)}.npz", sdir / "emb" / f"{key}.npz"
                if out_path.is_file() and (emb_path.is_file() or not need_emb):
                    continue
                model, head, preprocess = load_image_model(sdir / "image" / f"{key}.pt")
                p_ids, e_ids = run.with_video(pred_ids), run.with_video(emb_ids)
                embs, logits = embed_and_predict_image(model, head, preprocess, cfg["cacheDir"],
                                                       list(dict.fromkeys(p_ids + e_ids)), run.device,
                                                       cfg["daemon"]["node"])
                _save_npz(out_path, {i: logits[i] for i in p_ids})
                if need_emb:
                    _save_npz(emb_path, {i: embs[i] for i in e_ids})


def train_heads(cfg: dict) -> None:
    """Model-level fusion heads on frozen embeddings (audio-only and image-only heads come with their nets)."""
    run = Run(cfg)
    if not run.fusion_pairs():
        return
    from .train.heads import predict_fusion, train_fusion_head
    for s_i, stage in enumerate(run.stages):
        sdir = run.stage_dir(stage)
        for h_i, (arch, feat) in enumerate(run.fusion_pairs()):
            key = fusion_head_key(arch, feat)
            audio = _load_npz(sdir / "emb" / f"{run.embedding_net(feat)}.npz")
            image = _load_npz(sdir / "emb" / f"{image_net_key(arch)}.npz")
            train_ids = [i for i in stage.train if i in audio and i in image]
            path = train_fusion_head(cfg, audio, image, train_ids, run.labels, sdir / "heads" / f"{key}.pt",
                                     run.device, seed=cfg["seed"] + 1000 * s_i + 500 + h_i)
            out_path = sdir / "outputs" / f"{key}.npz"
            if not out_path.is_file():
                ids = [i for i in run.predict_ids(stage) if i in audio and i in image]
                _save_npz(out_path, predict_fusion(path, audio, image, ids, run.device))


def _heldout_outputs(run: Run, head: str) -> dict[str, np.ndarray]:
    """Out-of-fold outputs of ``head``, clip → logits, over every stage's held-out clips."""
    merged: dict[str, np.ndarray] = {}
    for stage in run.stages:
        path = run.stage_dir(stage) / "outputs" / f"{head}.npz"
        if stage.heldout and path.is_file():
            outs = _load_npz(path)
            merged.update({i: outs[i] for i in stage.heldout if i in outs})
    return merged


def _aligned(run: Run, per_head: list[dict[str, np.ndarray]], order) -> tuple[list[np.ndarray], np.ndarray]:
    """Several heads' per-clip outputs over the clips they all cover (in ``order``) and the windows they all have,
    concatenated into aligned segment arrays, with the labels."""
    ids = [i for i in order if all(i in d for d in per_head)]
    if not ids:
        return [np.zeros((0,)) for _ in per_head], np.zeros((0,), dtype=np.int64)
    counts = {i: min(len(d[i]) for d in per_head) for i in ids}
    arrays = [np.concatenate([d[i][:counts[i]] for i in ids]) for d in per_head]
    labels = np.concatenate([np.full(counts[i], run.labels[i]) for i in ids])
    return arrays, labels


def _evaluate_outputs(run: Run, head: str) -> dict[str, np.ndarray] | None:
    """Final-stage outputs of ``head`` on the evaluate split, clip → logits (None when it has none)."""
    path = run.stage_dir(run.final) / "outputs" / f"{head}.npz"
    if not path.is_file():
        return None
    outs = _load_npz(path)
    return {i: outs[i] for i in run.ds.splits["evaluate"] if i in outs} or None


def calibrate(cfg: dict) -> dict:
    run = Run(cfg)
    result = {}
    for head in run.head_table():
        (logits,), labels = _aligned(run, [_heldout_outputs(run, head)], run.ds.splits["train"])
        if not len(labels):
            log(f"calibrate: no held-out outputs for {head}: temperature 1")
            result[head] = {"temperature": 1.0, "heldout": None}
            continue
        t = fit_temperature(logits, labels)
        result[head] = {"temperature": t, "heldout": {
            "n": int(len(labels)), "logLossBefore": log_loss(head_probs(logits), labels),
            "logLossAfter": log_loss(head_probs(logits, t), labels)}}
        log(f"calibrate {head}: T={t:.3f} held-out log loss {result[head]['heldout']['logLossBefore']:.3f} → "
            f"{result[head]['heldout']['logLossAfter']:.3f}")
    (run.work / "calibration.json").write_text(json.dumps(result, indent=2))
    return result


def _systems(run: Run) -> dict[str, dict]:
    """Decision-fusion systems: audio-only / image-only over the embedding nets' heads, the report's Table 5
    (when fusion heads exist) and any the config names."""
    table = run.head_table()
    systems: dict[str, dict] = {}
    audio = [h for h, d in table.items() if d["kind"] == "audio" and run.embedding_net(d["feature"]) == d["audioNet"]]
    image = [h for h, d in table.items() if d["kind"] == "image"]
    for name, heads in (("audio", audio), ("image", image)):
        if heads:
            systems[f"{name}-weighted"] = {"heads": heads, "method": "weighted"}
            systems[f"{name}-unweighted"] = {"heads": heads, "method": "unweighted"}
    wanted = run.cfg["fusion"]["systems"]
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


def fuse(cfg: dict) -> dict:
    run = Run(cfg)
    temps = json.loads((run.work / "calibration.json").read_text())
    result = {}
    for name, spec in _systems(run).items():
        heads = spec["heads"]
        if spec["method"] == "unweighted" or len(heads) == 1:
            weights = [1 / len(heads)] * len(heads)
            held_loss = None
        else:
            logits, labels = _aligned(run, [_heldout_outputs(run, h) for h in heads], run.ds.splits["train"])
            if not len(labels):
                raise ValueError(f"fusion system {name}: no held-out outputs to search weights on")
            probs = [head_probs(x, temps[h]["temperature"]) for h, x in zip(heads, logits)]
            weights, held_loss = grid_search(probs, labels, cfg["fusion"]["step"],
                                             min_weight=spec.get("minWeight", cfg["fusion"]["minWeight"]))
            weights = [round(float(w), 6) for w in weights]
        result[name] = {**spec, "weights": dict(zip(heads, weights)), "heldoutLogLoss": held_loss}
        log(f"fuse {name}: {result[name]['weights']}" + (f" held-out log loss {held_loss:.3f}" if held_loss else ""))
    (run.work / "fusion.json").write_text(json.dumps(result, indent=2))
    return result


def _baseline(run: Run) -> dict:
    """The plain baseline on the same split as the final models: trained on the final stage's training clips."""
    def stats(ids):
        x = np.concatenate([window_stats(load_features(run.cfg["cacheDir"], "logmel", i)) for i in ids])
        y = np.concatenate([np.full(len(load_features(run.cfg["cacheDir"], "logmel", i)), run.labels[i]) for i in ids])
        return x, y
    x, y = stats(run.final.train)
    model = LogisticBaseline(len(run.cfg["classes"])).fit(x, y)
    xe, ye = stats(run.ds.splits["evaluate"])
    return summarize(model.predict_proba(xe), ye, run.cfg["classes"])


def evaluate(cfg: dict) -> dict:
    run = Run(cfg)
    classes = cfg["classes"]
    temps = json.loads((run.work / "calibration.json").read_text())
    fusion = json.loads((run.work / "fusion.json").read_text())
    rdir = run.work / "report"
    rdir.mkdir(parents=True, exist_ok=True)
    heads, clip_probs = {}, {}
    for head, desc in run.head_table().items():
        outs = _evaluate_outputs(run, head)
        if outs is None:
            continue
        t = temps[head]["temperature"]
        clip_probs[head] = {i: head_probs(x, t) for i, x in outs.items()}
        (logits,), labels = _aligned(run, [outs], list(outs))
        m = summarize(head_probs(logits, t), labels, classes)
        m["uncalibrated"] = {"logLoss": log_loss(head_probs(logits), labels)}
        m["temperature"] = t
        heads[head] = {**desc, **m}
        plot_confusion(m["confusion"], classes, f"{head} (evaluate split)", rdir / f"confusion-{head}.png")
    systems = {}
    for name, spec in fusion.items():
        if not all(h in clip_probs for h in spec["heads"]):
            continue
        probs, labels = _aligned(run, [clip_probs[h] for h in spec["heads"]], run.ds.splits["evaluate"])
        fused = fuse_probs(probs, [spec["weights"][h] for h in spec["heads"]])
        m = summarize(fused, labels, classes)
        systems[name] = {**spec, **m}
        # Per-window probabilities of every evaluate clip (in _aligned's order), for error analysis and to compare
        # with `avscene classify`.
        ids = [i for i in run.ds.splits["evaluate"] if all(i in clip_probs[h] for h in spec["heads"])]
        counts = [min(len(clip_probs[h][i]) for h in spec["heads"]) for i in ids]
        per_clip = dict(zip(ids, np.split(fused, np.cumsum(counts)[:-1])))
        (rdir / f"segments-{name}.json").write_text(json.dumps(
            {"classes": classes, "clips": {i: np.round(p, 6).tolist() for i, p in per_clip.items()}}))
        plot_confusion(m["confusion"], classes, f"system {name} (evaluate split)", rdir / f"confusion-system-{name}.png")
    report = {"dataset": cfg["dataset"], "split": "fold1_evaluate", "heads": heads, "systems": systems,
              "baseline": _baseline(run), "calibration": temps, "stages": [s.name for s in run.stages if s.heldout],
              "toolkit": __version__}
    (rdir / "report.json").write_text(json.dumps(report, indent=2))
    from .report import markdown_report
    (rdir / "report.md").write_text(markdown_report(report, cfg))
    log(f"evaluate: wrote {rdir / 'report.md'}")
    return report


def _parity_frame(run: Run, preprocess: dict):
    """A real frame (evaluate split first) as the daemon preprocesses it, ``[1, 3, h, w]``, for the export's parity check
    (None when no clip has frames)."""
    import torch
    from .data.frames import frame_paths, frame_tensors
    for cid in run.with_video(run.ds.splits["evaluate"]) + run.with_video(run.final.train):
        frames = frame_paths(run.cfg["cacheDir"], cid)
        if frames:
            log(f"export: parity input of the image nets: {frames[0]} preprocessed by the daemon's code")
            return torch.from_numpy(frame_tensors(frames[:1], preprocess, run.cfg["daemon"]["node"]))
    log("export: no cached frame: the image nets' parity check runs on random input")
    return None


def export(cfg: dict) -> dict:
    """Writes the bundle of ``export.system`` from the final stage's models, temperatures folded in."""
    from .export import AudioNetSpec, HeadSpec, ImageNetSpec, write_bundle
    from .train.audio import load_audio_model
    run = Run(cfg)
    temps = json.loads((run.work / "calibration.json").read_text())
    fusion = json.loads((run.work / "fusion.json").read_text())
    report = json.loads((run.work / "report" / "report.json").read_text())
    ex = cfg["export"]
    if ex["system"] not in fusion:
        raise ValueError(f"export.system {ex['system']!r} is not a fusion system of this run: {sorted(fusion)}")
    spec = fusion[ex["system"]]
    table = run.head_table()
    kinds = {table[h]["kind"] for h in spec["heads"]}
    fallback = {}
    if ex["fallback"]:
        if kinds & {"image", "fusion"} and "audio-weighted" in fusion:
            fallback["audio"] = fusion["audio-weighted"]["weights"]
        if kinds & {"audio", "fusion"} and "image-weighted" in fusion:
            fallback["image"] = fusion["image-weighted"]["weights"]
    used = {h for w in [spec["weights"], *fallback.values()] for h, v in w.items() if v > 0}
    sdir = run.stage_dir(run.final)
    audio_nets, image_nets, heads = {}, {}, {}
    for h in sorted(used):
        d = table[h]
        metrics = report["heads"].get(h)
        head_metrics = {"logLoss": metrics["logLoss"], "accuracy": metrics["accuracy"]} if metrics else None
        if d["kind"] == "audio":
            net, head = load_audio_model(sdir / "audio" / f"{d['audioNet']}.pt")
            audio_nets[d["audioNet"]] = AudioNetSpec(net, net.architecture, d["feature"])
        elif d["kind"] == "image":
            from .train.image import load_image_model
            emb, head, preprocess = load_image_model(sdir / "image" / f"{d['imageNet']}.pt")
            image_nets[d["imageNet"]] = ImageNetSpec(emb, d["architecture"], preprocess)
        else:
            from .train.heads import load_fusion_head
            from .train.image import load_image_model
            head = load_fusion_head(sdir / "heads" / f"{h}.pt")
            if d["audioNet"] not in audio_nets:
                net, _ = load_audio_model(sdir / "audio" / f"{d['audioNet']}.pt")
                audio_nets[d["audioNet"]] = AudioNetSpec(net, net.architecture, d["feature"])
            if d["imageNet"] not in image_nets:
                emb, _, preprocess = load_image_model(sdir / "image" / f"{d['imageNet']}.pt")
                image_nets[d["imageNet"]] = ImageNetSpec(emb, d["architecture"], preprocess)
        head.set_temperature(temps[h]["temperature"])
        heads[h] = HeadSpec(head, audio_net=d["audioNet"], image_net=d["imageNet"], metrics=head_metrics)
    for net in image_nets.values():
        net.example = _parity_frame(run, net.preprocess)
    sysm = report["systems"].get(ex["system"], {})
    base = report["baseline"]
    metrics = {"split": "fold1_evaluate", "system": ex["system"], "logLoss": sysm.get("logLoss"),
               "accuracy": sysm.get("accuracy"), "n": sysm.get("n"),
               "perClass": {c: {"accuracy": v["accuracy"], "logLoss": v["logLoss"], "n": v["n"]}
                            for c, v in sysm.get("perClass", {}).items()},
               "baseline": {"logLoss": base["logLoss"], "accuracy": base["accuracy"],
                            "model": "logistic regression on per-band mean and std of log-mel per window"},
               "calibration": {h: {"temperature": temps[h]["temperature"], "heldout": temps[h]["heldout"]} for h in used}}
    train_counts = {c: 0 for c in cfg["classes"]}
    for i in run.final.train:
        train_counts[run.ds.clips[i].label] += 1
    untrained = [c for c, n in train_counts.items() if n == 0]
    public_cfg = {k: v for k, v in cfg.items() if k not in ("configPath", "daemon", "workDir", "cacheDir")}
    public_cfg["dataset"] = Path(cfg["dataset"]).name
    provenance = {"dataset": {"name": Path(cfg["dataset"]).name, "trainClips": len(run.final.train),
                              "evaluateClips": len(run.ds.splits["evaluate"]), "trainClassCounts": train_counts},
                  "heldout": {"mode": cfg["heldout"]["mode"], "stages": [s.name for s in run.stages]},
                  "config": public_cfg}
    out = ex["out"] or str(run.work / "bundle")
    manifest = write_bundle(out, name=cfg["name"], classes=cfg["classes"], audio_nets=audio_nets,
                            image_nets=image_nets, heads=heads, weights=spec["weights"], method=spec["method"],
                            fallback=fallback or None, untrained_classes=untrained, version=ex["version"],
                            description=cfg["description"], metrics=metrics, provenance=provenance,
                            parity=ex["parity"])
    log(f"export: bundle {cfg['name']} written to {out}")
    return manifest


def run_all(cfg: dict) -> None:
    check_data(cfg)
    for step in (extract_features, extract_frames, train_audio, train_image, embed, train_heads, calibrate, fuse,
                 evaluate, export):
        log(f"== {step.__name__}")
        step(cfg)
