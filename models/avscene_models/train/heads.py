"""Model-level fusion heads (§2.3.1, §3.3) on frozen embeddings: Adam at a fixed learning rate (1e-5 in the
report), and in every epoch one random 1-s segment of each training clip (its 10 segments are alike)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..nets import FusionHead
from .common import Checkpoint, fit_epochs, save_atomic, seed_everything


def paired(audio: dict[str, np.ndarray], image: dict[str, np.ndarray], cid: str) -> tuple[np.ndarray, np.ndarray]:
    """A clip's audio ``[W,6,D]`` and image ``[W,E]`` embeddings over the windows both have."""
    n = min(len(audio[cid]), len(image[cid]))
    return audio[cid][:n], image[cid][:n]


def train_fusion_head(cfg: dict, audio: dict, image: dict, train_ids, labels: dict[str, int], out: Path, device,
                      seed: int, heldout_ids=()) -> Path:
    if out.is_file():
        return out
    if not train_ids:
        raise ValueError(f"{out.name}: no training clip has both audio and image embeddings")
    out.parent.mkdir(parents=True, exist_ok=True)
    h = cfg["heads"]
    gen = seed_everything(seed)
    pairs = [paired(audio, image, c) for c in train_ids]
    y_all = torch.tensor([labels[c] for c in train_ids])
    d, e = pairs[0][0].shape[-1], pairs[0][1].shape[-1]
    head = FusionHead(d, e, len(cfg["classes"]), hidden=h["hidden"], attention_dim=h["attentionDim"],
                      dropout=h["dropout"]).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=h["lr"], weight_decay=h["weightDecay"])
    bs = int(h["batchSize"])

    def batches():
        seg = [int(torch.randint(0, len(a), (1,), generator=gen)) for a, _ in pairs]   # one segment per clip
        xa = torch.from_numpy(np.stack([a[s] for (a, _), s in zip(pairs, seg)])).float()
        xi = torch.from_numpy(np.stack([i[s] for (_, i), s in zip(pairs, seg)])).float()
        order = torch.randperm(len(pairs), generator=gen)
        for k in range(0, len(order), bs):
            idx = order[k:k + bs]
            yield (xa[idx], xi[idx]), y_all[idx]

    def loss_fn(x, y):
        return torch.nn.functional.cross_entropy(head.logits(x[0].to(device), x[1].to(device)), y.to(device))

    validate = None
    if heldout_ids:
        held = [paired(audio, image, c) for c in heldout_ids]
        va = torch.from_numpy(np.concatenate([a for a, _ in held])).float()
        vi = torch.from_numpy(np.concatenate([i for _, i in held])).float()
        vy = torch.cat([torch.full((len(a),), labels[c]) for (a, _), c in zip(held, heldout_ids)])

        def validate():
            from .audio import window_metrics
            head.eval()
            return window_metrics(torch.softmax(head.logits(va.to(device), vi.to(device)), -1).cpu(), vy)

    ckpt = Checkpoint(out.with_suffix(".ckpt"))
    fit_epochs({"head": head}, opt, None, ckpt, int(h["epochs"]), f"train {out.stem} ({out.parent.parent.name})",
               batches, loss_fn, gen=gen, items=len(pairs), validate=validate)
    save_atomic({"head": head.state_dict(), "spec": {"audio_dim": d, "image_dim": e, "classes": len(cfg["classes"]),
                                                    "hidden": list(h["hidden"]), "attentionDim": h["attentionDim"],
                                                    "dropout": h["dropout"]}}, out)
    ckpt.remove()
    return out


def load_fusion_head(path: Path) -> FusionHead:
    state = torch.load(path, map_location="cpu")
    s = state["spec"]
    head = FusionHead(s["audio_dim"], s["image_dim"], s["classes"], hidden=s["hidden"],
                      attention_dim=s["attentionDim"], dropout=s["dropout"])
    head.load_state_dict(state["head"])
    return head.eval()


@torch.no_grad()
def predict_fusion(path: Path, audio: dict, image: dict, clip_ids, device) -> dict[str, np.ndarray]:
    """Per clip: logits ``[W, C]`` over the windows with both embeddings."""
    head = load_fusion_head(path).to(device)
    out = {}
    for cid in clip_ids:
        a, i = paired(audio, image, cid)
        out[cid] = head.logits(torch.from_numpy(a).float().to(device), torch.from_numpy(i).float().to(device)).cpu().numpy()
    return out
