"""Step ``deploy``: the exported bundle as one signed ``.tar.gz`` (``workDir/<name>-<version>.tar.gz``), and with
``--install DIR`` installed into a bundles directory by the daemon's own ``avscene bundle install`` (which verifies
files, signature and sessions before it flips ``current``); without it, the command to run on a device is printed.

``export.sign`` (or ``--sign KEY``) names the Ed25519 private key: the bundle is signed (``bundle.sig``) before it
is packed, so a device whose ``model.publicKey`` is the public half accepts it and every other device refuses it.
"""
from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

from ..progress import log
from ..signing import MANIFEST_FILE, SIGNATURE_FILE, sign_bundle


def bundle_dir(cfg: dict) -> Path:
    return Path(cfg["export"]["out"] or Path(cfg["workDir"]) / "bundle")


def pack(bundle: Path, out: Path) -> Path:
    """``out`` (.tar.gz) holding the bundle's files under one folder, written atomically."""
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    files = [MANIFEST_FILE] + [e["file"] for g in ("audioNets", "imageNets", "heads") for e in manifest[g].values()]
    if (bundle / SIGNATURE_FILE).is_file():
        files.append(SIGNATURE_FILE)
    top = f"{manifest['name']}-{manifest['version']}"
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for f in sorted(set(files)):
            tar.add(bundle / f, arcname=f"{top}/{f}")
    tmp.replace(out)
    return out


def deploy(cfg: dict) -> Path:
    ex = cfg["export"]
    bundle = bundle_dir(cfg)
    if not (bundle / MANIFEST_FILE).is_file():
        raise FileNotFoundError(f"{bundle / MANIFEST_FILE} not found: run the 'export' step first")
    if ex.get("sign"):
        sign_bundle(bundle, ex["sign"])
        log(f"deploy: signed {bundle} with {ex['sign']}")
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    archive = pack(bundle, Path(cfg["workDir"]) / f"{manifest['name']}-{manifest['version']}.tar.gz")
    # export removes a bundle.sig it would make stale; one still there was made for this bundle.json (`sign`)
    signed = ("signed" if (bundle / SIGNATURE_FILE).is_file()
              else "UNSIGNED (set export.sign or --sign KEY to sign it)")
    log(f"deploy: {archive} ({signed})")
    install = ex.get("install") or {}
    if not install.get("dir"):
        log(f"deploy: install it on a device with: scp {archive} DEVICE: && ssh DEVICE sudo avscene bundle install "
            f"{archive.name}" + ("  (the device's model.publicKey must be the public half of the signing key)"
                                 if ex.get("sign") else ""))
        return archive
    cmd = [cfg["daemon"]["node"], cfg["daemon"]["cli"], "bundle", "install", str(archive), "--dir", install["dir"]]
    if install.get("publicKey"):
        cmd += ["--public-key", install["publicKey"]]
    if not install.get("reload", True):
        cmd.append("--no-reload")
    log(f"deploy: {' '.join(cmd)}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"avscene bundle install refused {archive} ({proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    log(f"deploy: installed into {install['dir']}: {proc.stdout.strip() or proc.stderr.strip()}")
    return archive
