"""Step ``evaluate``: per 1-s segment metrics on the evaluate split for every head and fusion system (pooled and
class-averaged as DCASE ranks Task 1b, per class, confusion matrices), the plain baseline, Tables 2–5."""
from __future__ import annotations

import json

import numpy as np

from .. import __version__
from ..baseline import LogisticBaseline, window_stats
from ..calibration import head_probs
from ..data.features import load_features
from ..decision import fuse as fuse_probs
from ..metrics import log_loss, plot_confusion, summarize
from ..progress import log
from ..sources import ours_settings, report_drift
from .run import Run


def _baseline(run: Run) -> dict:
    """The plain baseline on the same split as the final models: trained on the final stage's training clips."""
    def stats(ids):
        feats = [load_features(run.cfg["cacheDir"], "logmel", i) for i in ids]
        x = np.concatenate([window_stats(f) for f in feats])
        y = np.concatenate([np.full(len(f), run.labels[i]) for i, f in zip(ids, feats)])
        return x, y
    x, y = stats(run.final.train)
    model = LogisticBaseline(len(run.cfg["classes"])).fit(x, y)
    xe, ye = stats(run.ds.splits["evaluate"])
    return summarize(model.predict_proba(xe), ye, run.cfg["classes"])


def evaluate(cfg: dict) -> dict:
    run = Run(cfg)
    classes = cfg["classes"]
    calibration = run.calibration()
    temps = calibration["heads"]
    fusion = run.read_json("fusion.json", "fuse")
    rdir = run.work / "report"
    rdir.mkdir(parents=True, exist_ok=True)
    heads, clip_probs = {}, {}
    for head, desc in run.head_table().items():
        outs = run.evaluate_outputs(head)
        if outs is None:
            continue
        t = temps[head]["temperature"]
        clip_probs[head] = {i: head_probs(x, t) for i, x in outs.items()}
        (logits,), labels = run.aligned([outs], list(outs))
        m = summarize(head_probs(logits, t), labels, classes)
        m["uncalibrated"] = {"logLoss": log_loss(head_probs(logits), labels)}
        m["temperature"] = t
        heads[head] = {**desc, **m}
        plot_confusion(m["confusion"], classes, f"{head} (evaluate split)", rdir / f"confusion-{head}.png")
    systems = {}
    for name, spec in fusion.items():
        if not all(h in clip_probs for h in spec["heads"]):
            continue
        probs, labels = run.aligned([clip_probs[h] for h in spec["heads"]], run.ds.splits["evaluate"])
        fused = fuse_probs(probs, [spec["weights"][h] for h in spec["heads"]])
        m = summarize(fused, labels, classes)
        systems[name] = {**spec, **m}
        # Per-window probabilities of every evaluate clip (in aligned()'s order), for error analysis and to compare
        # with `avscene classify`.
        ids = [i for i in run.ds.splits["evaluate"] if all(i in clip_probs[h] for h in spec["heads"])]
        counts = [min(len(clip_probs[h][i]) for h in spec["heads"]) for i in ids]
        per_clip = dict(zip(ids, np.split(fused, np.cumsum(counts)[:-1])))
        (rdir / f"segments-{name}.json").write_text(json.dumps(
            {"classes": classes, "clips": {i: np.round(p, 6).tolist() for i, p in per_clip.items()}}))
        plot_confusion(m["confusion"], classes, f"system {name} (evaluate split)", rdir / f"confusion-system-{name}.png")
    report = {"dataset": cfg["dataset"], "split": run.evaluate_split, "heads": heads, "systems": systems,
              "baseline": _baseline(run), "calibration": calibration,
              "stages": [s.name for s in run.stages if s.heldout], "finalStage": run.final.name,
              "finalTrainClips": len(run.final.train), "exportStage": run.export_stage.name,
              "exportTrainClips": len(run.export_stage.train), "trainClips": len(run.ds.splits["train"]),
              "ours": ours_settings(cfg), "notReport": report_drift(cfg), "toolkit": __version__}
    (rdir / "report.json").write_text(json.dumps(report, indent=2))
    from ..report import markdown_report
    (rdir / "report.md").write_text(markdown_report(report, cfg))
    log(f"evaluate: wrote {rdir / 'report.md'}")
    return report
