"""Image nets on the center frames (§3.2): RandomResizedCrop, horizontal flip, brightness/contrast, mixup; SGD
momentum 0.9, weight decay 1e-4, linear warm-up + cosine annealing; no dropout.

Only the training-time augmentation runs here, in PyTorch, on the cached full-resolution frames. Every eval-time
image tensor (embeddings, outputs for calibration / fusion weights / evaluation) comes from the daemon's own
preprocessing (``data.frames.clip_tensors``), so the exported net sees in the field what it saw here.

Two-stage fine-tuning when the user has the weights locally (config ``image.weights.<arch>``; nothing is
downloaded): ``imagenet`` (a torchvision ImageNet checkpoint) is loaded first; then either ``places365`` (a
checkpoint already fine-tuned on Places365) is loaded, or ``places365Data`` (an ImageFolder tree of Places365)
is used to fine-tune for ``places365Epochs``; then the net is fine-tuned on the task. Without weights the net
trains from scratch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

from ..data.frames import clip_tensors, frame_paths
from ..nets import ImageEmbedder, ImageHead, load_weights, preprocess_for
from ..progress import log
from .common import Checkpoint, fit_epochs, mixup, seed_everything, soft_cross_entropy, warmup_cosine


def train_transform(pre: dict, brightness: float, contrast: float):
    return transforms.Compose([
        transforms.RandomResizedCrop(pre["crop"][0]),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(brightness=brightness, contrast=contrast),
        transforms.ToTensor(),
        transforms.Normalize(pre["mean"], pre["std"]),
    ])


class FrameDataset(torch.utils.data.Dataset):
    def __init__(self, items: list[tuple[Path, int]], transform):
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with Image.open(path) as im:
            return self.transform(im.convert("RGB")), label


def _fit(embedder: ImageEmbedder, head: ImageHead, dataset, cfg_i: dict, epochs: int, classes: int,
         device, gen: torch.Generator, ckpt: Checkpoint, label: str) -> None:
    bs = int(cfg_i["batchSize"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=bs, shuffle=True, drop_last=len(dataset) > bs,
                                         generator=gen, num_workers=int(cfg_i["workers"]))
    params = list(embedder.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=cfg_i["lr"], momentum=cfg_i["momentum"], weight_decay=cfg_i["weightDecay"])
    steps = max(1, len(loader))
    sched = warmup_cosine(opt, int(cfg_i["warmupEpochs"] * steps), epochs * steps)

    def loss_fn(x, y):
        x, target = mixup(x, y, classes, float(cfg_i["mixup"]), gen)
        return soft_cross_entropy(head.logits(embedder(x.to(device))), target.to(device))

    fit_epochs({"embedder": embedder, "head": head}, opt, sched, ckpt, epochs, label, lambda: loader, loss_fn)


def _pretrain(embedder: ImageEmbedder, arch: str, weights: dict, cfg_i: dict, pre: dict, device, gen, work: Path) -> str:
    """The ImageNet → Places365 stages; returns a description of where the weights came from."""
    origin = "scratch"
    if weights.get("imagenet"):
        load_weights(embedder, weights["imagenet"])
        origin = f"imagenet:{Path(weights['imagenet']).name}"
    if weights.get("places365"):
        load_weights(embedder, weights["places365"])
        return origin + f" → places365:{Path(weights['places365']).name}"
    if weights.get("places365Data"):
        places = datasets.ImageFolder(weights["places365Data"],
                                      transform=train_transform(pre, cfg_i["brightness"], cfg_i["contrast"]))
        head = ImageHead(embedder.embedding_dim, len(places.classes)).to(device)
        log(f"{arch}: fine-tuning on Places365 ({len(places)} images, {len(places.classes)} classes)")
        _fit(embedder, head, places, cfg_i, int(cfg_i["places365Epochs"]), len(places.classes), device, gen,
             Checkpoint(work / f"{arch}-places365.ckpt"), f"places365 {arch}")
        return origin + f" → places365 fine-tuned here ({cfg_i['places365Epochs']} epochs)"
    return origin


def train_image_net(cfg: dict, arch: str, train_ids, labels: dict[str, int], out: Path, device, seed: int) -> Path:
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg_i = cfg["image"]
    gen = seed_everything(seed)
    pre = preprocess_for(arch, cfg_i["size"])
    items = [(p, labels[c]) for c in train_ids for p in frame_paths(cfg["cacheDir"], c)]
    if not items:
        raise ValueError(f"no frames for the training clips of {out.parent.parent.name}: run the 'frames' step "
                         "(and check that the dataset's videos exist)")
    classes = len(cfg["classes"])
    embedder = ImageEmbedder(arch).to(device)
    origin = _pretrain(embedder, arch, cfg_i["weights"].get(arch, {}), cfg_i, pre, device, gen, out.parent)
    head = ImageHead(embedder.embedding_dim, classes).to(device)
    data = FrameDataset(items, train_transform(pre, cfg_i["brightness"], cfg_i["contrast"]))
    _fit(embedder, head, data, cfg_i, int(cfg_i["epochs"]), classes, device, gen, Checkpoint(out.with_suffix(".ckpt")),
         f"train {arch} ({out.parent.parent.name})")
    torch.save({"embedder": embedder.state_dict(), "head": head.state_dict(),
                "spec": {"architecture": arch, "preprocess": pre, "classes": classes, "origin": origin}}, out)
    return out


def load_image_model(path: Path) -> tuple[ImageEmbedder, ImageHead, dict]:
    state = torch.load(path, map_location="cpu")
    s = state["spec"]
    emb = ImageEmbedder(s["architecture"])
    emb.load_state_dict(state["embedder"])
    head = ImageHead(emb.embedding_dim, s["classes"])
    head.load_state_dict(state["head"])
    return emb.eval(), head.eval(), s["preprocess"]


@torch.no_grad()
def embed_and_predict_image(embedder: ImageEmbedder, head: ImageHead, pre: dict, cache_dir: str, clip_ids,
                            device, node: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per clip: embeddings ``[W, E]`` and logits ``[W, C]`` of its frames, preprocessed by the daemon's code."""
    embedder.to(device).eval(), head.to(device).eval()
    embs, logits = {}, {}
    for cid, tensors in clip_tensors(cache_dir, clip_ids, pre, node):
        e = embedder(torch.from_numpy(tensors).to(device))
        embs[cid], logits[cid] = e.cpu().numpy(), head.logits(e).cpu().numpy()
    return embs, logits
