"""PyTorch side of the engine parity test (test/inference/parity.test.ts).

    PYTHONPATH=models /usr/bin/python3 test/inference/torch-reference.py export OUT_DIR
        builds the toolkit's audio-visual fixture nets (models/avscene_models: MobileNetV3-S at 96 px, the three audio
        nets at half width, audio-only / image-only / fusion heads), exports them with the toolkit's exporter
        (write_bundle) to OUT_DIR/bundle and pickles the same PyTorch modules to OUT_DIR/modules.pt;
    PYTHONPATH=models /usr/bin/python3 test/inference/torch-reference.py predict OUT_DIR INPUTS.json
        evaluates those modules in PyTorch on the windows listed in INPUTS.json (features [6,2,F] and the
        preprocessed image [1,3,H,W] as raw float32 files, written by the test from the daemon's own code) and prints
        {"windows": [{"heads": {head: probs}, "fused": probs}]}, fused with the manifest's weights
        (decision.fallback.audio for windows without an image), as the report's decision fusion does.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from avscene_models import TAU_CLASSES
from avscene_models.export import write_bundle
from avscene_models.fixtures import fixture_parts
from avscene_models.systems import FEATURES, audio_head_key, fusion_head_key, image_head_key

torch.set_num_threads(1)
ARCH = "mobilenet_v3_small"


def export(out: Path) -> None:
    torch.manual_seed(7)
    audio_nets, image_nets, heads = fixture_parts((ARCH,), width=0.5, fc=(64, 32, 32), image_size=96,
                                                   fusion_hidden=(32, 16), classes=len(TAU_CLASSES))
    write_bundle(out / "bundle", name="fixture-parity", classes=list(TAU_CLASSES), audio_nets=audio_nets,
                 image_nets=image_nets, heads=heads, parity=False,
                 weights={fusion_head_key(ARCH, "logmel"): 0.5, fusion_head_key(ARCH, "scalogram"): 0.3,
                          fusion_head_key(ARCH, "bark"): 0.2},
                 fallback={"audio": {audio_head_key(f): w for f, w in zip(FEATURES, (0.6, 0.3, 0.1))},
                           "image": {image_head_key(ARCH): 1.0}},
                 description="UNTRAINED parity fixture")
    modules = {f"audio:{k}": s.module.eval() for k, s in audio_nets.items()}
    modules.update({f"image:{k}": s.module.eval() for k, s in image_nets.items()})
    modules.update({f"head:{k}": s.module.eval() for k, s in heads.items()})
    torch.save(modules, out / "modules.pt")


def load(path: str, shape) -> torch.Tensor:
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape))


@torch.no_grad()
def predict(out: Path, inputs_file: Path) -> None:
    manifest = json.loads((out / "bundle" / "bundle.json").read_text())
    modules = torch.load(out / "modules.pt")
    results = []
    for window in json.loads(inputs_file.read_text())["windows"]:
        audio_emb = {key: modules[f"audio:{key}"](load(window["features"][net["feature"]], (6, 2, -1))).unsqueeze(0)
                     for key, net in manifest["audioNets"].items()}
        image_emb = {}
        if window.get("image"):
            for key, net in manifest["imageNets"].items():
                h, w = net["preprocess"]["crop"]
                image_emb[key] = modules[f"image:{key}"](load(window["image"], (1, 3, h, w)))
        weights = manifest["decision"]["weights"] if image_emb else manifest["decision"]["fallback"]["audio"]
        head_probs = {}
        for key in weights:
            spec = manifest["heads"][key]
            args = ([audio_emb[spec["audioNet"]]] if spec["audioNet"] else []) + \
                   ([image_emb[spec["imageNet"]]] if spec["imageNet"] else [])
            head_probs[key] = modules[f"head:{key}"](*args)[0].double()
        total = sum(weights.values())
        fused = sum(w * head_probs[k] for k, w in weights.items()) / total
        results.append({"heads": {k: v.tolist() for k, v in head_probs.items()}, "fused": fused.tolist()})
    print(json.dumps({"windows": results}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(Path(sys.argv[2]))
    else:
        predict(Path(sys.argv[2]), Path(sys.argv[3]))
