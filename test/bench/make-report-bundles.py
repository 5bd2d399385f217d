"""Full-size, UNTRAINED bundles of the report's systems for `avscene bench` (random weights: timing only).

    PYTHONPATH=models /usr/bin/python3 test/bench/make-report-bundles.py [OUT_DIR]   (default models/work)

writes (git-ignored, ~1 GB together):
- OUT_DIR/bench-system3/  — Table 5 system III as `avscene_models fixture --system report-III` builds it:
  EfficientNet-B5 456, EfficientNetV2-S 384, Swin-T 224, the three audio nets (1D-ResNet of Table 1 read literally on
  log-mel and scalogram, DCNN on Bark), the heads with a non-zero weight of [0.4,0,0.15,0.2,0.15,0,0.1,0,0], plus the
  audio-only / EffNet-B5-only fallback heads.
- OUT_DIR/bench-report12/ — all twelve model-level fusion models of Table 4 (ResNet-50 included), equal weights:
  the baseline `avscene bench --naive` runs each of them on its own, as the report's system was computed.
Both use the toolkit's own nets and exporter (models/avscene_models).
"""
import sys
import time
from pathlib import Path

import torch

from avscene_models import TAU_CLASSES
from avscene_models.export import write_bundle
from avscene_models.fixtures import _fixture_parts
from avscene_models.systems import (FEATURES, REPORT_IMAGE_NETS, REPORT_PAIRS, REPORT_SYSTEMS, audio_head_key,
                                    fusion_head_key, image_head_key)

torch.set_num_threads(1)
out = Path(sys.argv[1] if len(sys.argv) > 1 else "models/work")
full = dict(width=1.0, fc=(2048, 1024, 1024), image_size=None, fusion_hidden=(512, 256), classes=len(TAU_CLASSES))

t0 = time.time()
torch.manual_seed(0)
ids, method, report_weights = REPORT_SYSTEMS["III"]
archs = [a for a in REPORT_IMAGE_NETS if any(REPORT_PAIRS[i][0] == a for i in ids)]
audio_nets, image_nets, heads = _fixture_parts(archs, **full)
write_bundle(out / "bench-system3", name="fixture-report-iii", classes=list(TAU_CLASSES), audio_nets=audio_nets,
             image_nets=image_nets, heads=heads, method=method, parity=False,
             weights={fusion_head_key(*REPORT_PAIRS[i]): w for i, w in zip(ids, report_weights)},
             fallback={"audio": {audio_head_key(f): round(1 / 3, 6) for f in FEATURES},
                       "image": {image_head_key("efficientnet_b5"): 1.0}},
             description="UNTRAINED: Table 5 system III at full size (random weights), for avscene bench")
print(f"bench-system3 written in {time.time() - t0:.0f} s", flush=True)

t0 = time.time()
torch.manual_seed(1)
audio_nets, image_nets, heads = _fixture_parts(REPORT_IMAGE_NETS, **full)
write_bundle(out / "bench-report12", name="fixture-report12", classes=list(TAU_CLASSES), audio_nets=audio_nets,
             image_nets=image_nets, heads=heads, method="unweighted", parity=False,
             weights={fusion_head_key(a, f): 1.0 for a in REPORT_IMAGE_NETS for f in FEATURES},
             description="UNTRAINED: Table 4's twelve audio-visual models at full size, for the naive baseline of avscene bench")
print(f"bench-report12 written in {time.time() - t0:.0f} s", flush=True)
