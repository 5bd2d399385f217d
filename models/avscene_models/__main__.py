"""Command line: ``python3 -m avscene_models <command> …`` (run from models/ or with PYTHONPATH=models).

Every training step reads a JSON config (see configs/ and README.md) and works in the config's ``workDir``;
steps skip what is already done there; ``pipeline CONFIG --resume`` continues an interrupted run. Data-parallel
training on N GPUs: ``torchrun --nproc_per_node N -m avscene_models pipeline CONFIG``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _config_step(name: str):
    def run(args) -> int:
        from .config import load_config
        from . import steps
        cfg = load_config(args.config, overrides=args.set)
        if getattr(args, "sign", None):
            cfg["export"]["sign"] = os.path.abspath(args.sign)
        if getattr(args, "install", None):
            cfg["export"]["install"] = {"dir": os.path.abspath(args.install), "reload": not args.no_reload,
                                        "publicKey": os.path.abspath(args.public_key) if args.public_key else None}
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
    "export": "export the chosen fusion system as a bundle (signed with export.sign / --sign KEY)",
    "deploy": "pack the bundle as a (signed) .tar.gz; --install DIR installs it with `avscene bundle install`",
    "pipeline": "run every step above in order (--resume continues an interrupted run)",
}


def _fixture(args) -> int:
    from .fixtures import build_fixture
    manifest = build_fixture(args.system, args.out, seed=args.seed, width=args.width,
                             fc=tuple(int(x) for x in args.fc.split(",")), image_arch=args.image_arch,
                             image_size=args.image_size, parity=not args.no_parity, parity_dir=args.parity_dir)
    print(json.dumps({"out": args.out, "heads": list(manifest["heads"]), "decision": manifest["decision"]}))
    return 0


def _keygen(args) -> int:
    from .signing import keygen
    key, pub = keygen(args.out)
    print(json.dumps({"private": str(key), "public": str(pub)}))
    print(f"keep {key} secret (it signs bundles); give devices {pub} as model.publicKey", file=sys.stderr)
    return 0


def _sign(args) -> int:
    from .signing import sign_bundle
    print(json.dumps({"signature": str(sign_bundle(args.bundle, args.key))}))
    return 0


#: Commands that do not need PyTorch (a release machine can sign without the training stack).
NO_TORCH = {"keygen", "sign"}


def main(argv: list[str] | None = None) -> int:
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
        if cmd in ("export", "deploy", "pipeline"):
            p.add_argument("--sign", metavar="KEY", help="Ed25519 private key (from `keygen`) to sign the bundle with "
                                                         "(sets export.sign)")
        if cmd in ("deploy", "pipeline"):
            p.add_argument("--install", metavar="DIR", help="install the packed bundle into this bundles directory "
                                                            "with `avscene bundle install` (verified, `current` flipped)")
            p.add_argument("--public-key", metavar="FILE", help="with --install: the public key the bundle must be "
                                                                "signed with (default: the device config's model.publicKey)")
            p.add_argument("--no-reload", action="store_true", help="with --install: do not signal a running daemon")
        p.set_defaults(run=_config_step(cmd))
    from .systems import FIXTURE_SYSTEMS
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
    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing bundles (NAME.key private, NAME.pub public)",
                       description="make an Ed25519 key pair for signing bundles: NAME.key (private, mode 0600: keep it "
                                   "where bundles are released) and NAME.pub (copy to devices, set model.publicKey)")
    p.add_argument("--out", required=True, metavar="NAME", help="path prefix of the two files")
    p.set_defaults(run=_keygen)
    p = sub.add_parser("sign", help="sign a bundle (writes bundle.sig; the daemon checks it against model.publicKey)",
                       description="check a bundle's files against bundle.json, then sign bundle.json with an Ed25519 "
                                   "private key; the raw signature goes to bundle.sig in the bundle directory")
    p.add_argument("bundle", help="bundle directory (bundle.json + ONNX files)")
    p.add_argument("--key", required=True, help="Ed25519 private key, PEM (from `keygen` or `openssl genpkey -algorithm ed25519`)")
    p.set_defaults(run=_sign)
    args = parser.parse_args(argv)
    if args.command not in NO_TORCH:
        import torch
        torch.set_num_threads(int(os.environ.get("AVSCENE_TORCH_THREADS", "1")))
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
