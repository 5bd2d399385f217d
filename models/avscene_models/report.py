"""Markdown tables shaped like the report's Tables 2–5, the baseline and the calibration, from report.json."""
from __future__ import annotations

from .systems import REPORT_PAIRS

_ARCH_NAMES = {"resnet1d": "1D-ResNet", "dcnn": "DCNN", "resnet50": "ResNet-50", "efficientnet_b5": "EffNet-b5",
               "efficientnet_v2_s": "EffNetV2-S", "swin_t": "SwinT"}
_FEATURE_NAMES = {"logmel": "log-mel", "scalogram": "scalogram", "bark": "bark"}


def _fmt(m: dict) -> str:
    return f"{m['logLoss']:.3f} | {100 * m['accuracy']:.1f}%"


def _name(x: str) -> str:
    return _ARCH_NAMES.get(x, x)


def markdown_report(report: dict, cfg: dict) -> str:
    heads = report["heads"]
    lines = [f"# Results: {cfg['name']}", "",
             f"Dataset `{report['dataset']}`, split {report['split']}, metrics per 1-s segment "
             f"(log loss after calibration; accuracy). Held-out data for calibration and fusion weights: "
             f"{cfg['heldout']['mode']} ({', '.join(report['stages'])}).", ""]
    base = report["baseline"]
    lines += ["Baseline (logistic regression on per-band mean and std of log-mel per window): "
              f"log loss {base['logLoss']:.3f}, accuracy {100 * base['accuracy']:.1f}% ({base['n']} segments).", ""]

    audio = [(h, d) for h, d in heads.items() if d["kind"] == "audio"]
    if audio:
        lines += ["## Table 2: audio systems", "", "Feature | Model | Log Loss | Accuracy", "---|---|---|---"]
        for h, d in sorted(audio, key=lambda x: (x[1]["feature"], x[1]["architecture"])):
            lines.append(f"{_FEATURE_NAMES.get(d['feature'], d['feature'])} | {_name(d['architecture'])} | {_fmt(d)}")
        lines.append("")
    image = [(h, d) for h, d in heads.items() if d["kind"] == "image"]
    if image:
        lines += ["## Table 3: image systems", "", "Model | Log loss | Accuracy", "---|---|---"]
        lines += [f"{_name(d['architecture'])} | {_fmt(d)}" for h, d in image]
        lines.append("")
    fusion = [(h, d) for h, d in heads.items() if d["kind"] == "fusion"]
    if fusion:
        ids = {v: k for k, v in REPORT_PAIRS.items()}
        lines += ["## Table 4: audio-visual systems", "", "ID | V-Model | A-Feature | Log Loss | Accuracy",
                  "---|---|---|---|---"]
        for h, d in sorted(fusion, key=lambda x: ids.get((x[1]["architecture"], x[1]["feature"]), 99)):
            lines.append(f"{ids.get((d['architecture'], d['feature']), '-')} | {_name(d['architecture'])} | "
                         f"{_FEATURE_NAMES.get(d['feature'], d['feature'])} | {_fmt(d)}")
        lines.append("")
    if report["systems"]:
        lines += ["## Table 5: decision-level fusion systems", "",
                  "No. | Models | Vote Method | Weights | Log loss | Accuracy", "---|---|---|---|---|---"]
        for name, s in report["systems"].items():
            models = ",".join(map(str, s.get("tableIds", []))) or ", ".join(s["heads"])
            weights = ", ".join(f"{w:g}" for w in s["weights"].values())
            lines.append(f"{name} | {models} | {s['method'].capitalize()} | [{weights}] | {_fmt(s)}")
        lines.append("")
    lines += ["## Calibration (temperature scaling)", "",
              "Head | T | held-out log loss before → after | evaluate log loss before → after",
              "---|---|---|---"]
    for h, d in heads.items():
        held = report["calibration"][h]["heldout"]
        held_txt = f"{held['logLossBefore']:.3f} → {held['logLossAfter']:.3f} ({held['n']} seg.)" if held else "n/a"
        lines.append(f"{h} | {d['temperature']:.3f} | {held_txt} | {d['uncalibrated']['logLoss']:.3f} → {d['logLoss']:.3f}")
    lines.append("")
    lines += ["## Per class (evaluate split)", ""]
    for name, s in list(report["systems"].items()) + [("baseline", base)]:
        lines += [f"**{name}**: " + ", ".join(f"{c} {100 * v['accuracy']:.0f}% / {v['logLoss']:.2f} (n={v['n']})"
                                             for c, v in s["perClass"].items()), ""]
    lines += ["Confusion matrices: `confusion-*.png` beside this file.", ""]
    return "\n".join(lines)
