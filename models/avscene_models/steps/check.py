"""Step ``check``: what is missing or malformed in the dataset (JSON on stdout)."""
from __future__ import annotations

import json

from ..config import dataset_hint
from ..data.dataset import check_dataset


def check_data(cfg: dict) -> dict:
    report = check_dataset(cfg["dataset"], cfg["classes"], cfg["datasetFiles"])
    print(json.dumps(report, indent=2))
    if not report["ok"]:
        raise ValueError(f"dataset {cfg['dataset']} has {len(report['problems'])} problem(s): see above"
                         + dataset_hint(cfg))
    return report

