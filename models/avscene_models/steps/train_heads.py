"""Step ``train-heads``: model-level fusion heads (§2.3.1) on frozen embeddings (audio-only and image-only heads
come with their nets)."""
from __future__ import annotations

from ..systems import fusion_head_key, image_net_key
from .run import Run, load_npz, save_npz


def train_heads(cfg: dict) -> None:
    run = Run(cfg)
    if not run.fusion_pairs():
        return
    from ..train.heads import predict_fusion, train_fusion_head
    for s_i, stage in enumerate(run.stages):
        sdir = run.stage_dir(stage)
        for h_i, (arch, feat) in enumerate(run.fusion_pairs()):
            key = fusion_head_key(arch, feat)
            audio = load_npz(sdir / "emb" / f"{run.embedding_net(feat)}.npz")
            image = load_npz(sdir / "emb" / f"{image_net_key(arch)}.npz")
            train_ids = [i for i in stage.train if i in audio and i in image]
            path = train_fusion_head(cfg, audio, image, train_ids, run.labels, sdir / "heads" / f"{key}.pt",
                                     run.device, seed=cfg["seed"] + 1000 * s_i + 500 + h_i,
                                     heldout_ids=[i for i in stage.heldout if i in audio and i in image])
            out_path = sdir / "outputs" / f"{key}.npz"
            if not out_path.is_file():
                ids = [i for i in run.predict_ids(stage) if i in audio and i in image]
                save_npz(out_path, predict_fusion(path, audio, image, ids, run.device))
