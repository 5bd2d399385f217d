"""Step ``train-image``: every image net of every stage, Places365 stage included (data-parallel under torchrun)."""
from __future__ import annotations

from ..systems import image_net_key
from .run import Run


def train_image(cfg: dict) -> None:
    if not cfg["image"]["nets"]:
        return
    from ..train.image import train_image_net
    run = Run(cfg)
    for s_i, stage in enumerate(run.stages):
        for n_i, arch in enumerate(cfg["image"]["nets"]):
            train_image_net(cfg, arch, run.with_video(stage.train), run.labels,
                            run.stage_dir(stage) / "image" / f"{image_net_key(arch)}.pt", run.device,
                            seed=cfg["seed"] + 1000 * s_i + 100 + n_i, pretrain_dir=run.work / "places365",
                            heldout_ids=run.with_video(stage.heldout))
