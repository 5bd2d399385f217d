"""Untrained bundles with random (seeded) weights, for tests and benchmarks — never a model to deploy.

``python3 -m avscene_models fixture --system {audio,av,report-III} --out DIR`` writes one; the name starts with
``fixture-`` and the description says UNTRAINED. ``report-III`` has the report's full-size nets and Table 5
system III's weights (ResNet-50 and the zero-weight heads pruned), for latency benchmarks.
"""
from __future__ import annotations

import torch

from . import FEATURE_BANDS, TAU_CLASSES
from .export import AudioNetSpec, HeadSpec, ImageNetSpec, write_bundle
from .nets import AudioHead, FusionHead, ImageEmbedder, ImageHead, build_audio_net, preprocess_for
from .systems import (FEATURE_NET, FEATURES, REPORT_PAIRS, REPORT_SYSTEMS, audio_head_key, audio_net_key,
                      fusion_head_key, image_head_key, image_net_key)

SYSTEMS = ("audio", "av", "report-III")


@torch.no_grad()
def _warm_batchnorm(embedder: ImageEmbedder, size: int) -> ImageEmbedder:
    """Sets BatchNorm statistics from random images: a freshly initialised MobileNet/EfficientNet otherwise
    outputs ~1e-8, which would make parity checks on fixtures meaningless."""
    embedder.train()
    for _ in range(2):
        embedder(torch.randn(2, 3, size, size))
    return embedder.eval()


def _fixture_parts(image_archs, *, width, fc, image_size, fusion_hidden, classes):
    audio_nets, image_nets, heads = {}, {}, {}
    for feat in FEATURES:
        key = audio_net_key(feat)
        net = build_audio_net(FEATURE_NET[feat], FEATURE_BANDS[feat], width=width, fc=fc)
        audio_nets[key] = AudioNetSpec(net, FEATURE_NET[feat], feat)
        heads[audio_head_key(feat)] = HeadSpec(AudioHead(net.embedding_dim, classes), audio_net=key)
    for arch in image_archs:
        key = image_net_key(arch)
        emb = _warm_batchnorm(ImageEmbedder(arch), preprocess_for(arch, image_size)["crop"][0])
        image_nets[key] = ImageNetSpec(emb, arch, preprocess_for(arch, image_size))
        heads[image_head_key(arch)] = HeadSpec(ImageHead(emb.embedding_dim, classes), image_net=key)
        for feat in FEATURES:
            d = audio_nets[audio_net_key(feat)].module.embedding_dim
            heads[fusion_head_key(arch, feat)] = HeadSpec(
                FusionHead(d, emb.embedding_dim, classes, hidden=fusion_hidden),
                audio_net=audio_net_key(feat), image_net=key)
    return audio_nets, image_nets, heads


def build_fixture(system: str, out_dir: str, *, seed: int = 0, width: float = 0.5, fc=(64, 32, 32),
                  image_arch: str = "mobilenet_v3_small", image_size: int = 96, parity: bool = True,
                  parity_dir: str | None = None) -> dict:
    """Writes an untrained bundle; returns its manifest."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown fixture system {system!r}; use one of {SYSTEMS}")
    torch.manual_seed(seed)
    classes = list(TAU_CLASSES)
    fallback = None
    if system == "audio":
        audio_nets, image_nets, heads = _fixture_parts((), width=width, fc=fc, image_size=None,
                                                       fusion_hidden=(), classes=len(classes))
        weights = {audio_head_key(f): round(1 / 3, 6) for f in FEATURES}
    elif system == "av":
        audio_nets, image_nets, heads = _fixture_parts((image_arch,), width=width, fc=fc, image_size=image_size,
                                                       fusion_hidden=(32, 16), classes=len(classes))
        weights = {fusion_head_key(image_arch, f): round(1 / 3, 6) for f in FEATURES}
        fallback = {"audio": {audio_head_key(f): round(1 / 3, 6) for f in FEATURES},
                    "image": {image_head_key(image_arch): 1.0}}
    else:  # the report's system III at full size
        ids, _, report_weights = REPORT_SYSTEMS["III"]
        archs = sorted({REPORT_PAIRS[i][0] for i in ids}, key=list(REPORT_PAIRS.values()).index)
        audio_nets, image_nets, heads = _fixture_parts(archs, width=1.0, fc=(2048, 1024, 1024), image_size=None,
                                                       fusion_hidden=(512, 256), classes=len(classes))
        weights = {fusion_head_key(*REPORT_PAIRS[i]): w for i, w in zip(ids, report_weights)}
        fallback = {"audio": {audio_head_key(f): round(1 / 3, 6) for f in FEATURES},
                    "image": {image_head_key("efficientnet_b5"): 1.0}}
    return write_bundle(
        out_dir, name=f"fixture-{system.lower()}", classes=classes, audio_nets=audio_nets, image_nets=image_nets,
        heads=heads, weights=weights, fallback=fallback, parity=parity, parity_dir=parity_dir,
        description=f"UNTRAINED fixture ({system}, random weights, seed {seed}) for tests and benchmarks: "
                    "its outputs mean nothing; never deploy it.",
        provenance={"fixture": {"system": system, "seed": seed, "width": width, "fc": list(fc),
                                "imageArch": image_arch, "imageSize": image_size}},
    )
