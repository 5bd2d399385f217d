"""Untrained bundles with random (seeded) weights, for tests and benchmarks — never a model to deploy.

``python3 -m avscene_models fixture --system SYSTEM --out DIR`` writes one; the name starts with ``fixture-`` and
the description says UNTRAINED. Systems:

- ``audio``: the three audio nets (log-mel, scalogram, Bark) and their audio-only heads, equal weights;
- ``av``: those plus one small image net (``--image-arch``, ``--image-size``), its three fusion heads, and the
  audio-only / image-only fallback heads;
- ``report-III``: Table 5's system III at full size (EfficientNet-B5, EfficientNetV2-S, Swin-T; the report's
  weights [0.4, 0, 0.15, 0.2, 0.15, 0, 0.1, 0, 0] for Table 4's models 4–12, so ResNet-50 and the zero-weight
  heads are left out), audio-only and EfficientNet-B5-only fallback heads: the bundle ``avscene bench`` times;
- ``report-12``: Table 4's twelve model-level fusion models at full size (ResNet-50 included), unweighted: the
  naive baseline of ``avscene bench --naive``.

From Python: ``fixture_system(name)`` says what a fixture holds (nets, heads, weights) without building a net;
``fixture_parts(...)`` builds the modules; ``build_fixture(...)`` does both and exports.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import FEATURE_BANDS, TAU_CLASSES
from .export import AudioNetSpec, HeadSpec, ImageNetSpec, prune, write_bundle
from .nets import AudioHead, FusionHead, ImageEmbedder, ImageHead, build_audio_net, preprocess_for
from .systems import (FEATURE_NET, FEATURES, FIXTURE_SYSTEMS as SYSTEMS, REPORT_IMAGE_NETS, REPORT_PAIRS, REPORT_SYSTEMS,
                      audio_head_key, audio_net_key, fusion_head_key, image_head_key, image_net_key)

#: The report's nets at full size: Table 1's 1D-ResNet read literally, FC 2048 → 1024 → 1024, fusion FC 512, 256.
FULL_SIZE = {"width": 1.0, "fc": (2048, 1024, 1024), "image_size": None, "fusion_hidden": (512, 256)}


@dataclass(frozen=True)
class HeadWiring:
    """Which nets a head reads: an audio net (audio-only), an image net (image-only) or both (model-level fusion)."""
    audio_net: str | None
    image_net: str | None


def head_wiring(image_archs) -> dict[str, HeadWiring]:
    """Every head a fixture with these image nets has: audio-only per feature, image-only per net, and one fusion
    head per (image net, feature) pair, on §4's feature ↔ audio net choice."""
    heads = {audio_head_key(f): HeadWiring(audio_net_key(f), None) for f in FEATURES}
    for arch in image_archs:
        heads[image_head_key(arch)] = HeadWiring(None, image_net_key(arch))
        for f in FEATURES:
            heads[fusion_head_key(arch, f)] = HeadWiring(audio_net_key(f), image_net_key(arch))
    return heads


@dataclass(frozen=True)
class FixtureSystem:
    """What a fixture bundle holds, decided before any net is built."""
    name: str
    image_archs: tuple[str, ...]
    width: float
    fc: tuple[int, ...]
    image_size: int | None
    fusion_hidden: tuple[int, ...]
    weights: dict[str, float]
    method: str = "weighted"
    fallback: dict[str, dict[str, float]] | None = None

    def kept(self) -> tuple[dict[str, HeadWiring], set[str], set[str]]:
        """The heads the bundle will hold (weight > 0 somewhere) and the audio / image net keys they use."""
        return prune(head_wiring(self.image_archs), self.weights, self.fallback)


def fixture_system(system: str, *, width: float = 0.5, fc=(64, 32, 32), image_arch: str = "mobilenet_v3_small",
                   image_size: int = 96) -> FixtureSystem:
    """The definition of a fixture system (``width``, ``fc``, ``image_*`` apply to ``audio`` and ``av`` only)."""
    third = round(1 / 3, 6)
    audio_fallback = {audio_head_key(f): third for f in FEATURES}
    if system == "audio":
        return FixtureSystem("fixture-audio", (), width, tuple(fc), None, (), weights=dict(audio_fallback))
    if system == "av":
        return FixtureSystem("fixture-av", (image_arch,), width, tuple(fc), image_size, (32, 16),
                             weights={fusion_head_key(image_arch, f): third for f in FEATURES},
                             fallback={"audio": audio_fallback, "image": {image_head_key(image_arch): 1.0}})
    if system == "report-III":
        ids, method, report_weights = REPORT_SYSTEMS["III"]
        archs = tuple(a for a in REPORT_IMAGE_NETS if any(REPORT_PAIRS[i][0] == a for i in ids))
        return FixtureSystem("fixture-report-iii", archs, **FULL_SIZE, method=method,
                             weights={fusion_head_key(*REPORT_PAIRS[i]): w for i, w in zip(ids, report_weights)},
                             fallback={"audio": audio_fallback, "image": {image_head_key(archs[0]): 1.0}})
    if system == "report-12":
        return FixtureSystem("fixture-report-12", REPORT_IMAGE_NETS, **FULL_SIZE, method="unweighted",
                             weights={fusion_head_key(*pair): 1.0 for pair in REPORT_PAIRS.values()})
    raise ValueError(f"unknown fixture system {system!r}; use one of {SYSTEMS}")


@torch.no_grad()
def _warm_batchnorm(embedder: ImageEmbedder, size: int) -> ImageEmbedder:
    """Sets BatchNorm statistics from random images: a freshly initialised MobileNet/EfficientNet otherwise
    outputs ~1e-8, which would make parity checks on fixtures meaningless."""
    embedder.train()
    for _ in range(2):
        embedder(torch.randn(2, 3, size, size))
    return embedder.eval()


def fixture_parts(image_archs, *, width, fc, image_size, fusion_hidden, classes):
    """Randomly initialised modules of every head in ``head_wiring(image_archs)`` and of the nets they read:
    ``(audio_nets, image_nets, heads)`` as ``write_bundle`` takes them."""
    audio_nets = {}
    for feat in FEATURES:
        net = build_audio_net(FEATURE_NET[feat], FEATURE_BANDS[feat], width=width, fc=fc)
        audio_nets[audio_net_key(feat)] = AudioNetSpec(net, FEATURE_NET[feat], feat)
    image_nets = {}
    for arch in image_archs:
        pre = preprocess_for(arch, image_size)
        image_nets[image_net_key(arch)] = ImageNetSpec(_warm_batchnorm(ImageEmbedder(arch), pre["crop"][0]), arch, pre)
    heads = {}
    for key, wiring in head_wiring(image_archs).items():
        d = audio_nets[wiring.audio_net].module.embedding_dim if wiring.audio_net else None
        e = image_nets[wiring.image_net].module.embedding_dim if wiring.image_net else None
        if d and e:
            module = FusionHead(d, e, classes, hidden=fusion_hidden)
        else:
            module = AudioHead(d, classes) if d else ImageHead(e, classes)
        heads[key] = HeadSpec(module, audio_net=wiring.audio_net, image_net=wiring.image_net)
    return audio_nets, image_nets, heads


def build_fixture(system: str, out_dir: str, *, seed: int = 0, width: float = 0.5, fc=(64, 32, 32),
                  image_arch: str = "mobilenet_v3_small", image_size: int = 96, parity: bool = True,
                  parity_dir: str | None = None) -> dict:
    """Writes an untrained bundle; returns its manifest. Only the image nets a kept head reads are built."""
    spec = fixture_system(system, width=width, fc=fc, image_arch=image_arch, image_size=image_size)
    _, _, image_used = spec.kept()
    torch.manual_seed(seed)
    classes = list(TAU_CLASSES)
    audio_nets, image_nets, heads = fixture_parts(
        [a for a in spec.image_archs if image_net_key(a) in image_used], width=spec.width, fc=spec.fc,
        image_size=spec.image_size, fusion_hidden=spec.fusion_hidden, classes=len(classes))
    return write_bundle(
        out_dir, name=spec.name, classes=classes, audio_nets=audio_nets, image_nets=image_nets, heads=heads,
        weights=spec.weights, method=spec.method, fallback=spec.fallback, parity=parity, parity_dir=parity_dir,
        description=f"UNTRAINED fixture ({system}, random weights, seed {seed}) for tests and benchmarks: "
                    "its outputs mean nothing; never deploy it.",
        provenance={"fixture": {"system": system, "seed": seed, "width": spec.width, "fc": list(spec.fc),
                                "imageArchs": list(spec.image_archs), "imageSize": spec.image_size}},
    )
