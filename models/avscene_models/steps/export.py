"""Step ``export``: the bundle of ``export.system`` from the final stage's models, temperatures folded in; when
``export.reference`` names a bundle (the shipped demo bundle for configs/demo.json), says whether this run
reproduced its metrics and weights."""
from __future__ import annotations

import json
from pathlib import Path

from ..progress import log
from .run import Run

#: How close a rebuild's metrics must be to the reference bundle's to count as reproducing it (rounding in JSON).
REPRODUCE_TOLERANCE = 1e-6


def _parity_frame(run: Run, preprocess: dict):
    """A real frame (evaluate split first) as the daemon preprocesses it, ``[1, 3, h, w]``, for the export's parity
    check (None when no clip has frames)."""
    import torch
    from ..data.frames import frame_paths, frame_tensors
    for cid in run.with_video(run.ds.splits["evaluate"]) + run.with_video(run.final.train):
        frames = frame_paths(run.cfg["cacheDir"], cid)
        if frames:
            log(f"export: parity input of the image nets: {frames[0]} preprocessed by the daemon's code")
            return torch.from_numpy(frame_tensors(frames[:1], preprocess, run.cfg["daemon"]["node"]))
    log("export: no cached frame: the image nets' parity check runs on random input")
    return None


def _metrics_block(report: dict, system: str, calibration: dict, used: set[str]) -> dict:
    sysm = report["systems"].get(system, {})
    base = report["baseline"]
    return {"split": report["split"], "system": system, "logLoss": sysm.get("logLoss"),
            "accuracy": sysm.get("accuracy"), "n": sysm.get("n"), "classAverage": sysm.get("classAverage"),
            "perClass": {c: {"accuracy": v["accuracy"], "logLoss": v["logLoss"], "n": v["n"]}
                         for c, v in sysm.get("perClass", {}).items()},
            "baseline": {"logLoss": base["logLoss"], "accuracy": base["accuracy"],
                         "model": "logistic regression on per-band mean and std of log-mel per window"},
            "calibrationMethod": calibration["method"],
            "calibration": {h: {"temperature": calibration["heads"][h]["temperature"],
                                "heldout": calibration["heads"][h]["heldout"]} for h in sorted(used)}}


def compare_with_reference(manifest: dict, reference_dir: str | Path) -> list[str]:
    """Differences between a freshly exported manifest and a reference bundle's (metrics, fusion weights, heads);
    an empty list means the rebuild reproduced it."""
    path = Path(reference_dir) / "bundle.json"
    if not path.is_file():
        return [f"no reference bundle at {path}"]
    ref = json.loads(path.read_text())
    diffs = []
    for key in ("logLoss", "accuracy", "n"):
        a, b = manifest["metrics"].get(key), ref.get("metrics", {}).get(key)
        if a is None or b is None or abs(a - b) > REPRODUCE_TOLERANCE:
            diffs.append(f"metrics.{key} {a} (this run) vs {b} (reference)")
    new_w, ref_w = manifest["decision"]["weights"], ref.get("decision", {}).get("weights", {})
    if set(new_w) != set(ref_w) or any(abs(new_w[h] - ref_w[h]) > REPRODUCE_TOLERANCE for h in new_w):
        diffs.append(f"decision.weights {new_w} (this run) vs {ref_w} (reference)")
    return diffs


def export(cfg: dict) -> dict:
    from ..export import AudioNetSpec, HeadSpec, ImageNetSpec, write_bundle
    from ..train.audio import load_audio_model
    run = Run(cfg)
    calibration = run.calibration()
    temps = calibration["heads"]
    fusion = run.read_json("fusion.json", "fuse")
    report = run.read_json("report/report.json", "evaluate")
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
    sdir = run.stage_dir(run.export_stage)
    audio_nets, image_nets, heads = {}, {}, {}

    def add_audio(key: str, feature: str):
        if key not in audio_nets:
            net, _ = load_audio_model(sdir / "audio" / f"{key}.pt")
            audio_nets[key] = AudioNetSpec(net, net.architecture, feature)

    def add_image(key: str, arch: str):
        if key not in image_nets:
            from ..train.image import load_image_model
            emb, _, preprocess = load_image_model(sdir / "image" / f"{key}.pt")
            image_nets[key] = ImageNetSpec(emb, arch, preprocess)

    for h in sorted(used):
        d = table[h]
        metrics = report["heads"].get(h)
        head_metrics = {"logLoss": metrics["logLoss"], "accuracy": metrics["accuracy"]} if metrics else None
        if d["kind"] == "audio":
            _, head = load_audio_model(sdir / "audio" / f"{d['audioNet']}.pt")
            add_audio(d["audioNet"], d["feature"])
        elif d["kind"] == "image":
            from ..train.image import load_image_model
            _, head, _ = load_image_model(sdir / "image" / f"{d['imageNet']}.pt")
            add_image(d["imageNet"], d["architecture"])
        else:
            from ..train.heads import load_fusion_head
            head = load_fusion_head(sdir / "heads" / f"{h}.pt")
            add_audio(d["audioNet"], d["feature"])
            add_image(d["imageNet"], d["architecture"])
        head.set_temperature(temps[h]["temperature"])
        heads[h] = HeadSpec(head, audio_net=d["audioNet"], image_net=d["imageNet"], metrics=head_metrics)
    for net in image_nets.values():
        net.example = _parity_frame(run, net.preprocess)
    train_counts = {c: 0 for c in cfg["classes"]}
    for i in run.export_stage.train:
        train_counts[run.ds.clips[i].label] += 1
    untrained = [c for c, n in train_counts.items() if n == 0]
    from ..data.dataset import audio_rates
    rates = audio_rates(run.ds.clips[i] for i in run.export_stage.train)
    # The rate the training audio was recorded at (the most common one): the daemon compares its capture rate
    # with it, since features resampled from another rate hold another band (model.sampleRateMismatch).
    trained_rate = max(rates, key=lambda r: (rates[r], r)) if rates else None
    public_cfg = {k: v for k, v in cfg.items()
                  if k not in ("configPath", "daemon", "workDir", "cacheDir", "datasetAsWritten")}
    public_cfg["dataset"] = Path(cfg["dataset"]).name
    public_cfg["export"] = {k: v for k, v in cfg["export"].items() if k not in ("out", "reference")}
    provenance = {"dataset": {"name": Path(cfg["dataset"]).name, "trainClips": len(run.export_stage.train),
                              "trainedOn": run.export_stage.name, "sampleRates": {str(r): n for r, n in rates.items()},
                              "evaluateClips": len(run.ds.splits["evaluate"]), "trainClassCounts": train_counts},
                  "heldout": {"mode": cfg["heldout"]["mode"], "stages": [s.name for s in run.stages]},
                  "config": public_cfg}
    out = ex["out"] or str(run.work / "bundle")
    manifest = write_bundle(out, name=cfg["name"], classes=cfg["classes"], audio_nets=audio_nets,
                            image_nets=image_nets, heads=heads, weights=spec["weights"], method=spec["method"],
                            fallback=fallback or None, untrained_classes=untrained, version=ex["version"],
                            trained_sample_rate=trained_rate,
                            description=cfg["description"], metrics=_metrics_block(report, ex["system"], calibration, used),
                            provenance=provenance, parity=ex["parity"])
    if ex.get("sign"):
        from ..signing import sign_bundle
        log(f"export: signed ({sign_bundle(out, ex['sign'])})")
    log(f"export: bundle {cfg['name']} written to {out}; try it with `avscene classify FILE.wav --bundle {out}`, "
        f"run the daemon on it with `--set model.bundle={out}` (AVSCENE_MODEL_BUNDLE), or install it with "
        f"`avscene bundle install {out}`")
    if ex.get("reference"):
        diffs = compare_with_reference(manifest, ex["reference"])
        m = manifest["metrics"]
        if diffs:
            log(f"export: this run does NOT reproduce the reference bundle {ex['reference']}: " + "; ".join(diffs))
        else:
            log(f"export: reproduces the reference bundle {ex['reference']}: log loss {m['logLoss']:.3f}, "
                f"accuracy {100 * m['accuracy']:.1f}% over {m['n']} segments, weights {manifest['decision']['weights']}")
    return manifest
