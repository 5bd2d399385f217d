"""Step ``fuse``: decision-level fusion (§2.3.2, §3.3): unweighted (equal weights) and weighted, the weights by
grid search on the simplex (step ``fusion.step``, 0.05 in the report) minimising log loss.

The report does not say which data it searched the weights on. Here it is always held-out data of the training
split — the out-of-fold outputs of the held-out stages (``heldout``: one location-grouped split, or
cross-validation) — with each head's probabilities as ``calibrate`` left them; never the evaluate split. The
weights found there are then applied to the final stage's models (retrained on the whole training split when
``heldout.retrain`` is set or in cross-validation).
"""
from __future__ import annotations

import json

from ..calibration import head_probs
from ..decision import grid_search
from ..progress import log
from .run import Run


def fuse(cfg: dict) -> dict:
    run = Run(cfg)
    temps = run.calibration()["heads"]
    result = {}
    for name, spec in run.systems().items():
        heads = spec["heads"]
        if spec["method"] == "unweighted" or len(heads) == 1:
            weights = [1 / len(heads)] * len(heads)
            held_loss, searched_on = None, None
        else:
            logits, labels = run.aligned([run.heldout_outputs(h) for h in heads], run.ds.splits["train"])
            if not len(labels):
                raise ValueError(f"fusion system {name}: no held-out outputs to search weights on")
            probs = [head_probs(x, temps[h]["temperature"]) for h, x in zip(heads, logits)]
            weights, held_loss = grid_search(probs, labels, cfg["fusion"]["step"],
                                             min_weight=spec.get("minWeight", cfg["fusion"]["minWeight"]),
                                             objective=cfg["fusion"]["objective"])
            weights = [round(float(w), 6) for w in weights]
            searched_on = {"segments": int(len(labels)), "objective": cfg["fusion"]["objective"], "stages": [s.name for s in run.stages if s.heldout],
                           "split": "held-out part of the training split (out-of-fold outputs)"}
        result[name] = {**spec, "weights": dict(zip(heads, weights)), "heldoutLogLoss": held_loss,
                        "searchedOn": searched_on}
        log(f"fuse {name}: {result[name]['weights']}" + (f" held-out log loss {held_loss:.3f}" if held_loss else ""))
    (run.work / "fusion.json").write_text(json.dumps(result, indent=2))
    return result
