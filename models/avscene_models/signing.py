"""Ed25519 signatures of bundles, so a device runs only bundles its owner released.

The signature covers the exact bytes of ``bundle.json`` (which pins the SHA-256 of every ONNX file) and is stored raw,
64 bytes, in ``bundle.sig`` beside it. Ed25519 is deterministic: ``openssl pkeyutl -sign -rawin -inkey NAME.key
-in bundle.json -out bundle.sig`` writes the same bytes. The daemon checks it with node:crypto against the public key
named by its ``model.publicKey`` setting (src/inference/bundle-signature.ts).

Uses Debian's python3-cryptography; no PyTorch needed, so a release machine can sign without the training stack.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .hashing import sha256_file

MANIFEST_FILE = "bundle.json"
SIGNATURE_FILE = "bundle.sig"
_FILE_GROUPS = ("audioNets", "imageNets", "heads")


def keygen(out: str | Path) -> tuple[Path, Path]:
    """Writes ``OUT.key`` (private, PKCS#8 PEM, mode 0600: keep it off the devices) and ``OUT.pub`` (for model.publicKey)."""
    out = Path(out)
    key_path, pub_path = out.with_name(out.name + ".key"), out.with_name(out.name + ".pub")
    for p in (key_path, pub_path):
        if p.exists():
            raise FileExistsError(f"{p} exists; refusing to overwrite a signing key (choose another --out or remove it)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path


def _load_private(key_path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{key_path} is not an unencrypted PEM private key ({e}); make one with `keygen --out NAME`") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{key_path} is a {type(key).__name__}, bundles are signed with Ed25519 keys (`keygen --out NAME`)")
    return key


def _check_files(bundle: Path, manifest: dict) -> None:
    """Refuses to vouch for a bundle whose files do not match its manifest (a signature would bless a corrupt copy)."""
    for group in _FILE_GROUPS:
        for key, spec in manifest.get(group, {}).items():
            path = bundle / spec["file"]
            if not path.is_file():
                raise ValueError(f"{group}.{key}: {path} is missing; sign the complete bundle directory")
            if sha256_file(path) != spec["sha256"]:
                raise ValueError(f"{group}.{key}: {path} does not match the SHA-256 in bundle.json; re-export the bundle before signing")


def sign_bundle(bundle: str | Path, key_path: str | Path) -> Path:
    """Checks the bundle's files against its manifest, signs bundle.json, writes bundle.sig; returns its path."""
    bundle = Path(bundle)
    manifest_path = bundle / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path} not found: give the directory of an exported bundle")
    data = manifest_path.read_bytes()
    _check_files(bundle, json.loads(data))
    key = _load_private(Path(key_path))
    sig_path = bundle / SIGNATURE_FILE
    tmp = sig_path.with_name(SIGNATURE_FILE + ".tmp")
    tmp.write_bytes(key.sign(data))
    os.replace(tmp, sig_path)
    return sig_path


def verify_bundle(bundle: str | Path, pub_path: str | Path) -> bool:
    """True when bundle.sig is a valid signature of bundle.json by the public key in ``pub_path`` (PEM)."""
    bundle = Path(bundle)
    key = serialization.load_pem_public_key(Path(pub_path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{pub_path} is not an Ed25519 public key")
    sig_path = bundle / SIGNATURE_FILE
    if not sig_path.is_file():
        return False
    try:
        key.verify(sig_path.read_bytes(), (bundle / MANIFEST_FILE).read_bytes())
        return True
    except InvalidSignature:
        return False
