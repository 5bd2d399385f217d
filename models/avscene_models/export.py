"""ONNX export and bundle writer (the format is models/BUNDLE.md).

Library use (the INFERENCE helper builds its fixtures and benchmark bundles this way)::

    from avscene_models.export import AudioNetSpec, ImageNetSpec, HeadSpec, write_bundle
    manifest = write_bundle(
        "out/my-bundle", name="my-bundle", classes=classes,
        audio_nets={"logmel-resnet1d": AudioNetSpec(net, "resnet1d", "logmel")},
        image_nets={"effnet-b5": ImageNetSpec(embedder, "efficientnet_b5", preprocess_for("efficientnet_b5"))},
        heads={"effnet-b5+logmel": HeadSpec(fusion_head, audio_net="logmel-resnet1d", image_net="effnet-b5")},
        weights={"effnet-b5+logmel": 1.0},
    )

``write_bundle`` exports every net and head to ONNX (opset 17, dynamic batch), leaves out heads whose weight is 0
everywhere (``weights`` and every ``fallback``) and the nets only they use, exports a backbone shared by several
heads once, checks every ONNX file against PyTorch on the same random inputs with onnxruntime-node
(``models/scripts/onnx-parity.mjs``; the max abs difference per file goes into ``provenance.parity``), and writes
``bundle.json`` with the SHA-256 of every file. CLI: ``python3 -m avscene_models export RUN_DIR --out DIR`` exports a
trained run (see steps/export.py); ``python3 -m avscene_models fixture …`` writes untrained bundles for tests/benchmarks.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from . import FEATURE_BANDS, FEATURE_SPEC_VERSION, FRAMES_PER_WINDOW, SAMPLE_RATE, __version__
from .hashing import sha256_file
from .progress import log

OPSET = 17
MODELS_DIR = Path(__file__).resolve().parent.parent
PARITY_SCRIPT = MODELS_DIR / "scripts" / "onnx-parity.mjs"
PARITY_TOLERANCE = 1e-4
_NAME_RE = re.compile(r"^[a-z0-9._-]+$")


@dataclass
class AudioNetSpec:
    module: nn.Module               # [B, 2, F] → [B, D]
    architecture: str               # resnet1d | dcnn
    feature: str                    # logmel | bark | scalogram


@dataclass
class ImageNetSpec:
    module: nn.Module               # [B, 3, H, W] → [B, E]
    architecture: str               # torchvision name
    preprocess: dict                # {resize, crop: [h, w], mean, std}
    example: torch.Tensor | None = None   # [1, 3, h, w] parity input (a real frame as the daemon preprocesses it); else random


@dataclass
class HeadSpec:
    module: nn.Module               # AudioHead | ImageHead | FusionHead (forward gives probabilities)
    audio_net: str | None = None
    image_net: str | None = None
    metrics: dict | None = None
    extra: dict = field(default_factory=dict)


class BundleError(ValueError):
    pass


def _out_dim(module: nn.Module, *example: torch.Tensor) -> int:
    with torch.no_grad():
        return int(module(*example).shape[-1])


def _export(module: nn.Module, example: tuple[torch.Tensor, ...], in_names: list[str], out_name: str, path: Path) -> None:
    dynamic = {n: {0: "batch"} for n in in_names + [out_name]}
    with torch.no_grad():
        torch.onnx.export(module, example, str(path), input_names=in_names, output_names=[out_name],
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)


def prune(heads: Mapping[str, HeadSpec], weights: Mapping[str, float], fallback: Mapping[str, Mapping[str, float]] | None):
    """Heads with weight > 0 somewhere (main weights or a fallback), and the nets they use."""
    used = {k for k, w in weights.items() if w > 0}
    for table in (fallback or {}).values():
        used |= {k for k, w in table.items() if w > 0}
    unknown = used - set(heads)
    if unknown:
        raise BundleError(f"weights name heads that were not given: {sorted(unknown)}")
    if not any(w > 0 for w in weights.values()):
        raise BundleError("every decision weight is 0: nothing to export")
    kept = {k: heads[k] for k in heads if k in used}
    audio = {h.audio_net for h in kept.values() if h.audio_net}
    image = {h.image_net for h in kept.values() if h.image_net}
    return kept, audio, image


def write_bundle(out_dir: str | Path, *, name: str, classes: list[str],
                 audio_nets: Mapping[str, AudioNetSpec], image_nets: Mapping[str, ImageNetSpec],
                 heads: Mapping[str, HeadSpec], weights: Mapping[str, float], method: str = "weighted",
                 fallback: Mapping[str, Mapping[str, float]] | None = None, untrained_classes: list[str] = (),
                 version: str = "1.0.0", description: str = "", metrics: dict | None = None,
                 provenance: dict | None = None, parity: bool = True, parity_dir: str | Path | None = None,
                 trained_sample_rate: int | None = None) -> dict:
    """Exports the nets and heads that carry weight and writes ``out_dir/bundle.json``; returns the manifest.

    ``parity``: run every ONNX file in onnxruntime-node against PyTorch (needs node and onnxruntime-node in the
    repository's node_modules); a difference above 1e-4 raises ``BundleError``. ``parity_dir``: keep the parity
    inputs and PyTorch outputs there (``parity.json`` + raw float32), for a check from Node.
    ``trained_sample_rate``: the rate the training audio was recorded at (``trainedSampleRate``; the daemon warns or
    refuses when its capture rate differs).
    """
    if not _NAME_RE.match(name):
        raise BundleError(f"bundle name {name!r} must match [a-z0-9._-]+")
    if method not in ("weighted", "unweighted"):
        raise BundleError(f"decision method {method!r}: use weighted or unweighted")
    kept, audio_used, image_used = prune(heads, weights, fallback)
    for key, head in kept.items():
        if head.audio_net and head.audio_net not in audio_nets:
            raise BundleError(f"head {key} names audio net {head.audio_net!r}, which was not given")
        if head.image_net and head.image_net not in image_nets:
            raise BundleError(f"head {key} names image net {head.image_net!r}, which was not given")
        if not head.audio_net and not head.image_net:
            raise BundleError(f"head {key} names no net")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob("*.onnx")) + [out / "bundle.json", out / "bundle.sig"]:   # a signature of the old manifest
        stale.unlink(missing_ok=True)
    keep_parity = parity_dir is not None
    parity_dir = Path(parity_dir) if keep_parity else Path(tempfile.mkdtemp(prefix="avscene-parity-"))
    parity_dir.mkdir(parents=True, exist_ok=True)
    checks: list[dict] = []
    gen = torch.Generator().manual_seed(0)

    def record(file: str, module: nn.Module, inputs: dict[str, torch.Tensor], out_name: str) -> None:
        with torch.no_grad():
            expected = module(*inputs.values())
        entry = {"file": str(out / file), "inputs": {}, "outputs": {}}
        for tag, tensors in (("inputs", inputs), ("outputs", {out_name: expected})):
            for n, t in tensors.items():
                bin_name = f"{len(checks)}-{tag}-{n}.bin"
                t.detach().numpy().astype("<f4").tofile(parity_dir / bin_name)
                entry[tag][n] = {"shape": list(t.shape), "bin": bin_name}
        checks.append(entry)

    manifest_audio, manifest_image, manifest_heads, dims = {}, {}, {}, {}
    for key in sorted(audio_used):
        spec = audio_nets[key]
        bands = FEATURE_BANDS[spec.feature]
        module = copy.deepcopy(spec.module).cpu().float().eval()
        x = torch.randn(FRAMES_PER_WINDOW, 2, bands, generator=gen) * 10 - 40  # dB-like values
        dims[("audio", key)] = d = _out_dim(module, x)
        file = f"audio-{key}.onnx"
        _export(module, (x,), ["features"], "embedding", out / file)
        record(file, module, {"features": x}, "embedding")
        manifest_audio[key] = {"file": file, "architecture": spec.architecture, "feature": spec.feature,
                               "input": {"name": "features", "shape": [-1, 2, bands]},
                               "output": {"name": "embedding", "shape": [-1, d]}}
    for key in sorted(image_used):
        spec = image_nets[key]
        h, w = spec.preprocess["crop"]
        module = copy.deepcopy(spec.module).cpu().float().eval()
        x = spec.example.float() if spec.example is not None else torch.randn(1, 3, h, w, generator=gen)
        dims[("image", key)] = e = _out_dim(module, x)
        file = f"image-{key}.onnx"
        _export(module, (x,), ["image"], "embedding", out / file)
        record(file, module, {"image": x}, "embedding")
        manifest_image[key] = {"file": file, "architecture": spec.architecture,
                               "input": {"name": "image", "shape": [-1, 3, h, w]},
                               "output": {"name": "embedding", "shape": [-1, e]},
                               "preprocess": spec.preprocess}
    for key in sorted(kept):
        head = kept[key]
        module = copy.deepcopy(head.module).cpu().float().eval()
        inputs: dict[str, torch.Tensor] = {}
        shapes: dict[str, dict] = {}
        if head.audio_net:
            d = dims[("audio", head.audio_net)]
            inputs["audio"] = torch.randn(2, FRAMES_PER_WINDOW, d, generator=gen).abs()
            shapes["audio"] = {"name": "audio", "shape": [-1, FRAMES_PER_WINDOW, d]}
        if head.image_net:
            e = dims[("image", head.image_net)]
            inputs["image"] = torch.randn(2, e, generator=gen).abs()
            shapes["image"] = {"name": "image", "shape": [-1, e]}
        c = _out_dim(module, *inputs.values())
        if c != len(classes):
            raise BundleError(f"head {key} outputs {c} classes, the bundle lists {len(classes)}")
        file = f"head-{key}.onnx"
        _export(module, tuple(inputs.values()), list(inputs), "probs", out / file)
        record(file, module, inputs, "probs")
        temperature = float(getattr(module, "temperature", torch.tensor(1.0)))
        entry = {"file": file, "audioNet": head.audio_net, "imageNet": head.image_net, "inputs": shapes,
                 "output": {"name": "probs", "shape": [-1, len(classes)]}, "temperature": round(temperature, 6)}
        if head.metrics:
            entry["metrics"] = head.metrics
        entry.update(head.extra)
        manifest_heads[key] = entry

    (parity_dir / "parity.json").write_text(json.dumps(checks))
    parity_result = run_parity(parity_dir) if parity else None
    if not keep_parity:
        shutil.rmtree(parity_dir, ignore_errors=True)
    for table in (manifest_audio, manifest_image, manifest_heads):
        for entry in table.values():
            entry["sha256"] = sha256_file(out / entry["file"])

    decision: dict = {"method": method, "weights": {k: float(w) for k, w in weights.items() if w > 0}}
    if fallback:
        decision["fallback"] = {m: {k: float(w) for k, w in t.items() if w > 0} for m, t in fallback.items()}
    prov = dict(provenance or {})
    prov.setdefault("toolkit", f"avscene_models {__version__}")
    prov.setdefault("torch", torch.__version__.split("a")[0])
    prov.setdefault("opset", OPSET)
    prov.setdefault("git", _git_revision())
    if parity_result is not None:
        prov["parity"] = parity_result
    manifest = {
        "format": "avscene-bundle", "formatVersion": 1, "name": name, "version": version,
        "description": description,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "featureSpec": FEATURE_SPEC_VERSION, "sampleRate": SAMPLE_RATE, "windowSeconds": 1,
        "framesPerWindow": FRAMES_PER_WINDOW,
        **({"trainedSampleRate": int(trained_sample_rate)} if trained_sample_rate else {}),
        "classes": list(classes),
        "untrainedClasses": list(untrained_classes),
        "audioNets": manifest_audio, "imageNets": manifest_image, "heads": manifest_heads,
        "decision": decision,
    }
    if metrics is not None:
        manifest["metrics"] = metrics
    manifest["provenance"] = prov
    (out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def run_parity(parity_dir: Path) -> dict:
    """Runs every exported file in onnxruntime-node on the inputs PyTorch saw; returns {file: max abs diff}."""
    node = shutil.which("node")
    if node is None:
        raise BundleError("node not found: the ONNX/PyTorch parity check runs in onnxruntime-node "
                          "(install Node 20 and run npm ci at the repository root, or pass parity=False / --no-parity)")
    proc = subprocess.run([node, str(PARITY_SCRIPT), str(parity_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BundleError(f"ONNX parity check failed to run: {proc.stderr.strip()[-2000:]}")
    diffs = {Path(k).name: v for k, v in json.loads(proc.stdout).items()}
    worst = max(diffs.values(), default=0.0)
    log(f"onnx parity: max abs difference {worst:.2e} over {len(diffs)} files")
    bad = {k: v for k, v in diffs.items() if not v <= PARITY_TOLERANCE}
    if bad:
        raise BundleError(f"ONNX output differs from PyTorch by more than {PARITY_TOLERANCE}: {bad}")
    return {"maxAbsDiff": diffs, "tolerance": PARITY_TOLERANCE, "runtime": "onnxruntime-node"}


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(MODELS_DIR), "rev-parse", "--verify", "-q", "HEAD"],
                             capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None
