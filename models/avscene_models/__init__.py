"""avscene_models: train, evaluate, fuse and export the DCASE2021 Task 1b hybrid-fusion systems as avscene bundles.

Python is for training and export only; the daemon runs the exported ONNX files with onnxruntime-node.
Run it as ``python3 -m avscene_models <command>`` from ``models/`` (or with ``PYTHONPATH=models``).
"""

__version__ = "0.1.0"

#: The ten scene classes of TAU Urban Audio-Visual Scenes 2021, in the order the bundles use.
TAU_CLASSES = (
    "airport", "bus", "metro", "metro_station", "park", "public_square",
    "shopping_mall", "street_pedestrian", "street_traffic", "tram",
)

#: Filters per feature kind (docs/spec/features.md), frames per 1-s window, channels (average, difference).
FEATURE_BANDS = {"logmel": 256, "bark": 256, "scalogram": 290}
FRAMES_PER_WINDOW = 6
FEATURE_CHANNELS = 2
FEATURE_SPEC_VERSION = 1
SAMPLE_RATE = 48000
