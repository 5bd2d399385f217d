"""Markdown tables shaped like the report's Tables 2–5 (each metric class-averaged as DCASE ranks it, and pooled),
the baseline, the calibration (when used) and the settings that are ours rather than the report's, from
report.json."""
from __future__ import annotations

import json

from .systems import FEATURES, REPORT_IMAGE_NETS, REPORT_PAIRS

_ARCH_NAMES = {"resnet1d": "1D-ResNet", "dcnn": "DCNN", "resnet50": "ResNet-50", "efficientnet_b5": "EffNet-b5",
               "efficientnet_v2_s": "EffNetV2-S", "swin_t": "SwinT"}
_FEATURE_NAMES = {"logmel": "log-mel", "scalogram": "scalogram", "bark": "bark"}


#: Column headers of the metric columns every table shares (_fmt's order).
METRIC_COLUMNS = "Log loss (DCASE) | Accuracy (DCASE) | Log loss (pooled) | Accuracy (pooled)"


def _fmt(m: dict) -> str:
    ca = m["classAverage"]
    return f"{ca['logLoss']:.3f} | {100 * ca['accuracy']:.1f}% | {m['logLoss']:.3f} | {100 * m['accuracy']:.1f}%"


def _rank(value, order) -> tuple:
    """The report's order first (Table 2: log-mel, scalogram, Bark, DCNN before 1D-ResNet; Table 3: ResNet-50,
    EffNet-b5, EffNetV2-S, SwinT), anything else after, alphabetically."""
    return (order.index(value), "") if value in order else (len(order), str(value))


_TABLE2_ARCHS = ("dcnn", "resnet1d")


def _cols(n: int) -> str:
    return "|".join(["---"] * (n + 4))


def _value(v) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def _name(x: str) -> str:
    return _ARCH_NAMES.get(x, x)


def markdown_report(report: dict, cfg: dict) -> str:
    heads = report["heads"]
    calibration = report["calibration"]
    calibrated = calibration["method"] != "none"
    cal_txt = ("temperature scaling per head, fitted on held-out training data (not the report's method: a "
               "deployment setting)" if calibrated else "none (as in the report: every head scored on its raw softmax)")
    drift = report.get("notReport") or []
    lines = [f"# Results: {cfg['name']}", ""]
    if drift:
        lines += [f"> Not the report's system: {len(drift)} report value(s) changed "
                  f"({', '.join(d['key'] for d in drift)}); see under the tables.", ""]
    lines += [
             f"Dataset `{report['dataset']}`, split {report['split']}, metrics per 1-s segment. **DCASE** columns: "
             "computed per class, then averaged over the classes (DCASE 2021 Task 1b's official log loss and "
             "accuracy); **pooled**: over all segments.", "",
             f"- Calibration: **{cal_txt}**.",
             f"- Final models: stage `{report['finalStage']}`, trained on {report['finalTrainClips']} of the "
             f"{report['trainClips']} training-split clips.",
             *([f"- Exported models: stage `submission`, retrained on all {report['exportTrainClips']} development "
                "clips (train + evaluate splits, as §3.1.2 before submitting): the evaluate split is training data for "
                "them, so these tables do not score them."] if report.get("exportStage") == "submission" else []),
             f"- Fusion weights: grid search (step {cfg['fusion']['step']}) minimising the "
             f"{'class-averaged' if cfg['fusion']['objective'] == 'classAverage' else 'pooled'} log loss on held-out "
             f"training data ({cfg['heldout']['mode']}: {', '.join(report['stages']) or 'none'}), never on the "
             "evaluate split.", ""]
    base = report["baseline"]
    lines += ["Baseline (logistic regression on per-band mean and std of log-mel per window): log loss "
              f"{base['classAverage']['logLoss']:.3f} (DCASE) / {base['logLoss']:.3f} (pooled), accuracy "
              f"{100 * base['classAverage']['accuracy']:.1f}% / {100 * base['accuracy']:.1f}% ({base['n']} segments).", ""]

    audio = [(h, d) for h, d in heads.items() if d["kind"] == "audio"]
    if audio:
        lines += ["## Table 2: audio systems", "", f"Feature | Model | {METRIC_COLUMNS}", _cols(2)]
        for h, d in sorted(audio, key=lambda x: (_rank(x[1]["feature"], FEATURES),
                                                 _rank(x[1]["architecture"], _TABLE2_ARCHS))):
            lines.append(f"{_FEATURE_NAMES.get(d['feature'], d['feature'])} | {_name(d['architecture'])} | {_fmt(d)}")
        lines.append("")
    image = [(h, d) for h, d in heads.items() if d["kind"] == "image"]
    if image:
        lines += ["## Table 3: image systems", "", f"Model | {METRIC_COLUMNS}", _cols(1)]
        lines += [f"{_name(d['architecture'])} | {_fmt(d)}"
                  for h, d in sorted(image, key=lambda x: _rank(x[1]["architecture"], REPORT_IMAGE_NETS))]
        lines.append("")
    fusion = [(h, d) for h, d in heads.items() if d["kind"] == "fusion"]
    if fusion:
        ids = {v: k for k, v in REPORT_PAIRS.items()}
        lines += ["## Table 4: audio-visual systems", "", f"ID | V-Model | A-Feature | {METRIC_COLUMNS}", _cols(3)]
        for h, d in sorted(fusion, key=lambda x: ids.get((x[1]["architecture"], x[1]["feature"]), 99)):
            lines.append(f"{ids.get((d['architecture'], d['feature']), '-')} | {_name(d['architecture'])} | "
                         f"{_FEATURE_NAMES.get(d['feature'], d['feature'])} | {_fmt(d)}")
        lines.append("")
    if report["systems"]:
        lines += ["## Table 5: decision-level fusion systems", "",
                  f"No. | Models | Vote Method | Weights | {METRIC_COLUMNS}", _cols(4)]
        for name, s in report["systems"].items():
            models = ",".join(map(str, s.get("tableIds", []))) or ", ".join(s["heads"])
            weights = ", ".join(f"{w:g}" for w in s["weights"].values())
            lines.append(f"{name} | {models} | {s['method'].capitalize()} | [{weights}] | {_fmt(s)}")
        lines.append("")
    lines += [f"Tables 2–5: calibration **{calibration['method']}**.", ""]
    drift = report.get("notReport") or []
    if drift:
        lines += ["**Not the report's system:** " + "; ".join(
            f"`{d['key']}` = `{_value(d['value'])}` (report: `{_value(d['report'])}`, {d['source']})" for d in drift)
            + ". These tables score a changed system, not the one the report describes.", ""]
    if report["ours"]:
        lines += ["## Settings that are ours, not the report's", "",
                  "The report does not give these (or we deviate); each says why (config `sources`).", "",
                  "Setting | Value | Why", "---|---|---"]
        lines += [f"`{o['key']}` | `{_value(o['value'])}` | {o['reason']}" for o in report["ours"]]
        lines.append("")
    if calibrated:
        lines += ["## Calibration (temperature scaling)", "",
                  "Head | T | held-out log loss before → after | evaluate log loss (pooled) before → after",
                  "---|---|---|---"]
        for h, d in heads.items():
            held = calibration["heads"][h]["heldout"]
            held_txt = f"{held['logLossBefore']:.3f} → {held['logLossAfter']:.3f} ({held['n']} seg.)" if held else "n/a"
            lines.append(f"{h} | {d['temperature']:.3f} | {held_txt} | {d['uncalibrated']['logLoss']:.3f} → {d['logLoss']:.3f}")
        lines.append("")
    lines += ["## Per class (evaluate split): accuracy / log loss (segments)", ""]
    for name, s in list(report["systems"].items()) + [("baseline", base)]:
        lines += [f"**{name}**: " + ", ".join(f"{c} {100 * v['accuracy']:.0f}% / {v['logLoss']:.2f} (n={v['n']})"
                                             for c, v in s["perClass"].items()), ""]
    lines += ["Confusion matrices (rows: true class, columns: predicted): `confusion` in report.json, "
              "`confusion-*.png` beside this file.", ""]
    return "\n".join(lines)
