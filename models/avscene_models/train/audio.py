"""Audio nets: frame-level training with the clip label (§3.1.2).

Every STFT frame of every 1-s window of a training clip is one example labelled with the clip's scene. SGD with
cosine-decay restarts between ``lrMax`` and ``lrMin``. The classifier is the audio head's output layer, so the
1-s prediction is the mean of the 6 frame outputs (AudioHead).

Under torchrun every rank draws the same global batch (same seed), augments it the same way, and trains on its
own contiguous share; DistributedDataParallel averages the gradients, so ``batchSize`` is the global batch and N
processes follow the one-process run (up to BatchNorm statistics on CPU, see distributed.wrap).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import FEATURE_BANDS
from ..data.features import load_features
from ..nets import AudioHead, MultiLevelNet1d, build_audio_net
from ..progress import Progress, progress_interval
from . import distributed
from .common import (Checkpoint, NetWithHead, Precision, balanced_weights, cosine_restarts, fit_epochs, mixup,
                     save_atomic, seed_everything, soft_cross_entropy)



def _frames(cache_dir: str, feature: str, clip_ids, labels: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for cid in clip_ids:
        f = load_features(cache_dir, feature, cid)            # [W, 6, 2, F]
        xs.append(f.reshape(-1, *f.shape[2:]))
        ys.append(np.full(xs[-1].shape[0], labels[cid], dtype=np.int64))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


def window_metrics(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Pooled log loss and accuracy of 1-s probabilities ``[N, C]`` (the per-epoch validation columns)."""
    p_true = probs[torch.arange(len(labels)), labels].clamp_min(1e-15)
    return {"valLogLoss": float(-p_true.log().mean()), "valAccuracy": float((probs.argmax(1) == labels).float().mean())}


def train_audio_net(cfg: dict, net_cfg: dict, train_ids, labels: dict[str, int], out: Path, device, seed: int,
                    heldout_ids=()) -> Path:
    """Trains one audio net + its output layer; resumable; returns the saved model path. ``heldout_ids``: clips
    scored after every epoch for the training log (1-s windows: the mean of the 6 frames' softmax)."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    a = cfg["audio"]
    feature, arch = net_cfg["feature"], net_cfg["architecture"]
    gen = seed_everything(seed)
    x, y = _frames(cfg["cacheDir"], feature, train_ids, labels)
    classes = len(cfg["classes"])
    pooling = net_cfg.get("pooling", a["pooling"])
    net = build_audio_net(arch, FEATURE_BANDS[feature], width=net_cfg.get("width", a["width"]),
                          fc=net_cfg.get("fc", a["fc"]), dropout=net_cfg.get("dropout", a["dropout"]), pooling=pooling)
    if net_cfg.get("standardize", a["standardize"]):
        net.set_input_stats(x.mean(0), x.std(0))
    head = AudioHead(net.embedding_dim, classes)
    net.to(device), head.to(device)
    model = distributed.wrap(NetWithHead(net, head), device)
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=a["lrMax"], momentum=a["momentum"], weight_decay=a["weightDecay"])
    bs = int(a["batchSize"])
    steps = (len(x) + bs - 1) // bs
    sched = cosine_restarts(opt, steps * int(a["restartEpochs"]), a["restartMult"], a["lrMin"])
    aug = a.get("augment", {})
    weights = balanced_weights(y, classes).to(device) if a.get("balanced") else None
    shift = int(aug.get("freqShift", 0))

    def batches():
        order = torch.randperm(len(x), generator=gen)
        for i in range(steps):
            idx = order[i * bs:(i + 1) * bs]
            yield x[idx], y[idx]

    def loss_fn(xb, yb):
        if shift:                                  # small random shift along the filter axis
            xb = torch.roll(xb, int(torch.randint(-shift, shift + 1, (1,), generator=gen)), dims=2)
        xb, tb = mixup(xb, yb, classes, float(aug.get("mixup", 0.0)), gen)
        xb, tb = distributed.shard(xb), distributed.shard(tb)
        return soft_cross_entropy(model(xb.to(device)), tb.to(device), weights)

    validate = None
    if heldout_ids:
        vx, vy = _frames(cfg["cacheDir"], feature, heldout_ids, labels)
        vx, vy = vx.reshape(-1, 6, *vx.shape[1:]), vy[::6]          # [windows, 6, 2, F], one label per window

        def validate():
            net.eval(), head.eval()
            probs = torch.cat([head(net(vx[i:i + 256].flatten(0, 1).to(device)).reshape(-1, 6, net.embedding_dim))
                               for i in range(0, len(vx), 256)]).cpu()
            return window_metrics(probs, vy)

    ckpt = Checkpoint(out.with_suffix(".ckpt"))
    fit_epochs({"net": net, "head": head}, opt, sched, ckpt, int(net_cfg.get("epochs", a["epochs"])),
               f"train {feature}-{arch} ({out.parent.parent.name})", batches, loss_fn,
               precision=Precision(device, cfg["amp"]), gen=gen, min_batch=2 * distributed.world_size(),
               items=len(x), validate=validate)
    save_atomic({"net": net.state_dict(), "head": head.state_dict(),
                "spec": {"feature": feature, "architecture": arch, "bands": FEATURE_BANDS[feature],
                         "width": net_cfg.get("width", a["width"]), "fc": list(net_cfg.get("fc", a["fc"])),
                         "dropout": net_cfg.get("dropout", a["dropout"]), "pooling": pooling, "classes": classes}}, out)
    ckpt.remove()
    return out


def load_audio_model(path: Path) -> tuple[MultiLevelNet1d, AudioHead]:
    state = torch.load(path, map_location="cpu")
    s = state["spec"]
    net = build_audio_net(s["architecture"], s["bands"], width=s["width"], fc=s["fc"], dropout=s["dropout"],
                          pooling=s.get("pooling", "max"))
    net.load_state_dict(state["net"])
    head = AudioHead(net.embedding_dim, s["classes"])
    head.load_state_dict(state["head"])
    return net.eval(), head.eval()


@torch.no_grad()
def embed_and_predict(net: MultiLevelNet1d, head: AudioHead, cache_dir: str, feature: str, clip_ids, device,
                      batch: int = 1024) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per clip: embeddings ``[W, 6, D]`` and frame logits ``[W, 6, C]``."""
    net.to(device).eval(), head.to(device).eval()
    embs, logits = {}, {}
    bar = Progress(len(clip_ids), f"embed {feature}-{net.architecture}", unit="clips", every=progress_interval())
    for cid in clip_ids:
        f = torch.from_numpy(np.array(load_features(cache_dir, feature, cid)))
        w = f.shape[0]
        flat = f.reshape(-1, *f.shape[2:])
        e = torch.cat([net(flat[i:i + batch].to(device)) for i in range(0, len(flat), batch)])
        embs[cid] = e.reshape(w, 6, -1).cpu().numpy()
        logits[cid] = head.logits(e).reshape(w, 6, -1).cpu().numpy()
        bar.update(1)
    return embs, logits
