"""Command line: ``python3 -m avscene_models <command> …`` (run from models/ or with PYTHONPATH=models).

Every training step reads a JSON config (see configs/ and README.md) and works in the config's ``workDir``;
steps skip what is already done there; ``pipeline CONFIG --resume`` continues an interrupted run. Data-parallel
training on N GPUs: ``torchrun --nproc_per_node N -m avscene_models pipeline CONFIG``.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch


def _config_step(name: str):
    def run(args) -> int:
        from .config import load_config
        from . import steps
        cfg = load_config(args.config, overrides=args.set)
        if name == "pipeline":
            steps.run_all(cfg, resume=args.resume)
            return 0
        if name == "check":
            steps.check_data(cfg)
            return 0
        step = {n: (fn, dist) for n, fn, dist in steps.STEPS}[name]
        steps.run_step(name, *step, cfg)
        return 0
    return run


STEPS = {
    "check": "check a dataset in the TAU layout and report what is missing or malformed",
    "features": "compute audio features with the daemon's CLI (cached .npy)",
    "frames": "extract the center frame of every 1-s segment (cached, lossless)",
    "train-audio": "train the audio nets (frame level, clip label; data-parallel under torchrun)",
    "train-image": "fine-tune / train the image nets (Places365 stage included; data-parallel under torchrun)",
    "embed": "compute frozen embeddings of every segment",
    "train-heads": "train the model-level fusion heads on frozen embeddings",
    "calibrate": "calibrate every head on held-out data (calibration.method: none | temperature)",
    "fuse": "decision-level fusion: unweighted and grid-searched weights (on held-out data)",
    "evaluate": "metrics (DCASE class-averaged and pooled), baseline, confusion matrices, Tables 2-5",
    "export": "export the chosen fusion system as a bundle",
    "pipeline": "run every step above in order (--resume continues an interrupted run)",
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
    for cmd, summary in STEPS.items():
        p = sub.add_parser(cmd, help=summary, description=summary)
        p.add_argument("config", help="JSON config (see models/configs/)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                       help="override a config value, e.g. --set audio.epochs=2 --set workDir='\"/tmp/run\"'")
        if cmd == "pipeline":
            p.add_argument("--resume", action="store_true",
                           help="continue the run in the config's workDir (same config): finished steps are "
                                "skipped, the interrupted one continues from its checkpoints")
        p.set_defaults(run=_config_step(cmd))
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
