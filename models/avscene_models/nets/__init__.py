"""Network definitions: audio embedding nets, image embedding nets, heads."""
from .audio import AUDIO_ARCHITECTURES, MultiLevelNet1d, build_audio_net, parameter_count
from .heads import AttentionPooling, AudioHead, FusionHead, ImageHead
from .image import ImageEmbedder, load_weights, preprocess_for

__all__ = [
    "AUDIO_ARCHITECTURES", "MultiLevelNet1d", "build_audio_net", "parameter_count",
    "AttentionPooling", "AudioHead", "FusionHead", "ImageHead",
    "ImageEmbedder", "load_weights", "preprocess_for",
]
