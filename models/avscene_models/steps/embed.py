"""Step ``embed``: embeddings of every clip a stage needs, and the outputs of the audio-only and image-only heads."""
from __future__ import annotations

from ..systems import audio_net_key, image_head_key, image_net_key
from ..train.common import loader_workers
from .run import Run, save_npz


def embed(cfg: dict) -> None:
    from ..train.audio import embed_and_predict, load_audio_model
    run = Run(cfg)
    need_emb = bool(run.fusion_pairs())
    for stage in run.stages:
        sdir = run.stage_dir(stage)
        pred_ids = run.predict_ids(stage)
        emb_ids = list(stage.train) + pred_ids if need_emb else []
        for net in run.audio_nets():
            key = audio_net_key(net["feature"], net["architecture"])
            out_path = sdir / "outputs" / f"{run.audio_head(net)}.npz"
            emb_path = sdir / "emb" / f"{key}.npz"
            want_emb = need_emb and run.embedding_net(net["feature"]) == key
            if out_path.is_file() and (emb_path.is_file() or not want_emb):
                continue
            model, head = load_audio_model(sdir / "audio" / f"{key}.pt")
            ids = list(dict.fromkeys(pred_ids + (emb_ids if want_emb else [])))
            embs, logits = embed_and_predict(model, head, cfg["cacheDir"], net["feature"], ids, run.device)
            if want_emb:
                save_npz(emb_path, {i: embs[i] for i in emb_ids})
            save_npz(out_path, {i: logits[i] for i in pred_ids})      # last: its presence marks the net done
        if cfg["image"]["nets"]:
            from ..train.image import embed_and_predict_image, load_image_model
            for arch in cfg["image"]["nets"]:
                key = image_net_key(arch)
                out_path, emb_path = sdir / "outputs" / f"{image_head_key(arch)}.npz", sdir / "emb" / f"{key}.npz"
                if out_path.is_file() and (emb_path.is_file() or not need_emb):
                    continue
                model, head, preprocess = load_image_model(sdir / "image" / f"{key}.pt")
                p_ids, e_ids = run.with_video(pred_ids), run.with_video(emb_ids)
                embs, logits = embed_and_predict_image(model, head, preprocess, cfg["cacheDir"],
                                                       list(dict.fromkeys(p_ids + e_ids)), run.device,
                                                       cfg["daemon"]["node"], loader_workers(cfg["frames"]["jobs"]) or 1)
                if need_emb:
                    save_npz(emb_path, {i: embs[i] for i in e_ids})
                save_npz(out_path, {i: logits[i] for i in p_ids})
