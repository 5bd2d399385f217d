"""The report's systems: feature ↔ audio net choice, image nets, the 12 audio-visual pairs (Table 4) and the
fusion systems of Table 5. Key names here are the bundle's net and head keys."""
from __future__ import annotations

#: §4: 1D-ResNet on log-mel and scalogram, DCNN on Bark.
FEATURE_NET = {"logmel": "resnet1d", "scalogram": "resnet1d", "bark": "dcnn"}
FEATURES = ("logmel", "scalogram", "bark")

#: torchvision architecture → bundle key, in Table 3's order.
IMAGE_KEYS = {"resnet50": "resnet50", "efficientnet_b5": "effnet-b5",
              "efficientnet_v2_s": "effnetv2-s", "swin_t": "swin-t"}
REPORT_IMAGE_NETS = tuple(IMAGE_KEYS)


def audio_net_key(feature: str, architecture: str | None = None) -> str:
    return f"{feature}-{architecture or FEATURE_NET[feature]}"


def image_net_key(architecture: str) -> str:
    return IMAGE_KEYS.get(architecture, architecture.replace("_", "-"))


def audio_head_key(feature: str) -> str:
    return f"{feature}-audio"


def image_head_key(architecture: str) -> str:
    return f"{image_net_key(architecture)}-image"


def fusion_head_key(architecture: str, feature: str) -> str:
    return f"{image_net_key(architecture)}-{feature}"


#: Table 4 IDs → (image architecture, feature).
REPORT_PAIRS = {
    i + 1: (arch, feat)
    for i, (arch, feat) in enumerate((a, f) for a in REPORT_IMAGE_NETS for f in ("logmel", "scalogram", "bark"))
}

#: Table 5: system → (Table 4 IDs, vote method, the report's weights where it gives them).
REPORT_SYSTEMS = {
    "I": ((4, 5, 7, 8, 10, 11), "weighted", (0.5, 0, 0.25, 0.15, 0.1, 0)),
    "II": ((4, 5, 7, 8, 10, 11), "unweighted", None),
    "III": ((4, 5, 6, 7, 8, 9, 10, 11, 12), "weighted", (0.4, 0, 0.15, 0.2, 0.15, 0, 0.1, 0, 0)),
    "IV": ((4, 5, 6, 7, 8, 9, 10, 11, 12), "unweighted", None),
}

#: Untrained bundles `python3 -m avscene_models fixture --system …` writes (here, so the CLI lists them without PyTorch).
FIXTURE_SYSTEMS = ("audio", "av", "report-III", "report-12")
