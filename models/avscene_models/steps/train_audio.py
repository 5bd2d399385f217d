"""Step ``train-audio``: every audio net of every stage (data-parallel under torchrun)."""
from __future__ import annotations

from ..systems import audio_net_key
from .run import Run


def train_audio(cfg: dict) -> None:
    from ..train.audio import train_audio_net
    run = Run(cfg)
    for s_i, stage in enumerate(run.stages):
        for n_i, net in enumerate(run.audio_nets()):
            key = audio_net_key(net["feature"], net["architecture"])
            train_audio_net(cfg, net, stage.train, run.labels, run.stage_dir(stage) / "audio" / f"{key}.pt",
                            run.device, seed=cfg["seed"] + 1000 * s_i + n_i, heldout_ids=stage.heldout)
