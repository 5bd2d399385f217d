"""Step ``calibrate``: per-head calibration on held-out outputs, as ``calibration.method`` says.

``none`` (the report's way: Tables 2–5 score the heads' raw softmax) writes temperature 1 for every head;
``temperature`` fits one temperature per head on the held-out outputs (never the evaluate split) — for deployment
bundles, whose probabilities dashboards threshold.
"""
from __future__ import annotations

import json

from ..calibration import fit_temperature, head_probs
from ..metrics import log_loss
from ..progress import log
from .run import Run

METHODS = ("none", "temperature")


def calibrate(cfg: dict) -> dict:
    run = Run(cfg)
    method = cfg["calibration"]["method"]
    if method not in METHODS:
        raise ValueError(f"calibration.method {method!r}: use one of {', '.join(METHODS)}")
    heads = {}
    for head in run.head_table():
        if method == "none":
            heads[head] = {"temperature": 1.0, "heldout": None}
            continue
        (logits,), labels = run.aligned([run.heldout_outputs(head)], run.ds.splits["train"])
        if not len(labels):
            log(f"calibrate: no held-out outputs for {head}: temperature 1")
            heads[head] = {"temperature": 1.0, "heldout": None}
            continue
        t = fit_temperature(logits, labels)
        heads[head] = {"temperature": t, "heldout": {
            "n": int(len(labels)), "logLossBefore": log_loss(head_probs(logits), labels),
            "logLossAfter": log_loss(head_probs(logits, t), labels)}}
        log(f"calibrate {head}: T={t:.3f} held-out log loss {heads[head]['heldout']['logLossBefore']:.3f} → "
            f"{heads[head]['heldout']['logLossAfter']:.3f}")
    if method == "none":
        log("calibrate: calibration.method none: every head scored on its raw softmax (report mode)")
    result = {"method": method, "heads": heads}
    (run.work / "calibration.json").write_text(json.dumps(result, indent=2))
    return result
