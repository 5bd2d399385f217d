"""Command line: ``python3 -m avscene_models <command> …`` (run from models/ or with PYTHONPATH=models).

Every training step reads a JSON config (see configs/ and README.md) and works in the config's ``workDir``;
steps skip what is already done there, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch


def _config_step(name: str):
    def run(args) -> int:
        from .config import load_config
        from . import pipeline
        cfg = load_config(args.config, overrides=args.set)
        getattr(pipeline, name)(cfg)
        return 0
    return run


STEPS = {
    "check": ("check_data", "check a dataset in the TAU layout and report what is missing or malformed"),
    "features": ("extract_features", "compute audio features with the daemon's CLI (cached .npy)"),
    "frames": ("extract_frames", "extract the center frame of every 1-s segment (cached)"),
    "train-audio": ("train_audio", "train the audio nets (frame level, clip label)"),
    "train-image": ("train_image", "fine-tune / train the image nets"),
    "embed": ("embed", "compute frozen embeddings of every segment"),
    "train-heads": ("train_heads", "train the model-level fusion heads on frozen embeddings"),
    "calibrate": ("calibrate", "temperature scaling of every head on held-out data"),
    "fuse": ("fuse", "decision-level fusion: unweighted and grid-searched weights"),
    "evaluate": ("evaluate", "metrics, baseline, confusion matrices, Tables 2-5 as JSON + Markdown"),
    "export": ("export", "export the chosen fusion system as a bundle"),
    "pipeline": ("run_all", "run every step above in order"),
}


def _fixture(args) -> int:
    from .fixtures import build_fixture
    manifest = build_fixture(args.system, args.out, seed=args.seed, width=args.width,
                             fc=tuple(int(x) for x in args.fc.split(",")), image_arch=args.image_arch,
                             image_size=args.image_size, parity=not args.no_parity, parity_dir=args.parity_dir)
    print(json.dumps({"out": args.out, "heads": list(manifest["heads"]), "decision": manifest["decision"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(int(__import__("os").environ.get("AVSCENE_TORCH_THREADS", "1")))
    parser = argparse.ArgumentParser(prog="python3 -m avscene_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for cmd, (fn, summary) in STEPS.items():
        p = sub.add_parser(cmd, help=summary, description=summary)
        p.add_argument("config", help="JSON config (see models/configs/)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                       help="override a config value, e.g. --set audio.epochs=2 --set workDir='\"/tmp/run\"'")
        p.set_defaults(run=_config_step(fn))
    from .fixtures import SYSTEMS as FIXTURE_SYSTEMS
    p = sub.add_parser("fixture", help="write an UNTRAINED bundle with random weights (tests, benchmarks)",
                       description="write an UNTRAINED bundle with random weights (tests, benchmarks): audio = the "
                                   "three audio nets; av = those + a small image net and fusion heads; report-III = "
                                   "Table 5's system III at full size (avscene bench); report-12 = Table 4's twelve "
                                   "fusion models at full size, unweighted (avscene bench --naive)")
    p.add_argument("--system", choices=FIXTURE_SYSTEMS, required=True)
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=float, default=0.5, help="audio net width multiplier (audio, av)")
    p.add_argument("--fc", default="64,32,32", help="audio net FC sizes (audio, av)")
    p.add_argument("--image-arch", default="mobilenet_v3_small", help="torchvision image net (av)")
    p.add_argument("--image-size", type=int, default=96, help="image crop size (av)")
    p.add_argument("--no-parity", action="store_true", help="skip the onnxruntime-node parity check")
    p.add_argument("--parity-dir", help="keep the parity inputs/outputs (parity.json + .bin) in this folder")
    p.set_defaults(run=_fixture)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
