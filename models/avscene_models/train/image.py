"""Image nets on the center frames (§3.2): RandomResizedCrop, horizontal flip, brightness/contrast, mixup; SGD
momentum 0.9, weight decay 1e-4, linear warm-up + cosine annealing; no dropout.

Only the training-time augmentation runs here, in PyTorch, on the cached full-resolution frames. Every eval-time
image tensor (embeddings, outputs for calibration / fusion weights / evaluation) comes from the daemon's own
preprocessing (``data.frames.clip_tensors``), so the exported net sees in the field what it saw here.

Two-stage fine-tuning when the user has the weights locally (config ``image.weights.<arch>``; nothing is
downloaded): ``imagenet`` (a torchvision ImageNet checkpoint) is loaded first; then either ``places365`` (a
checkpoint already fine-tuned on Places365) is loaded, or ``places365Data`` (an ImageFolder tree of Places365)
is used to fine-tune for ``places365Epochs``; then the net is fine-tuned on the task. Without weights the net
trains from scratch. The Places365 stage keeps its result (``WORK/places365/<arch>-places365.pt``), shared by
every held-out stage, so neither a second stage nor a run interrupted during the task fine-tuning repeats it.

Under torchrun each rank reads its share of the frames (DistributedSampler, reshuffled every epoch from the seed)
in batches of ``batchSize / ranks``: ``batchSize`` is the global batch, as on one GPU; BatchNorm is synchronised
across GPUs. ``workers: "auto"`` sizes the loader to the host's CPUs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

from ..data.frames import clip_tensors, frame_paths
from ..nets import ImageEmbedder, ImageHead, load_weights, preprocess_for
from ..progress import Progress, log, progress_interval
from . import distributed
from .common import (Checkpoint, NetWithHead, Precision, fit_epochs, loader_workers, mixup, save_atomic,
                     seed_everything, soft_cross_entropy, warmup_cosine)



def train_transform(pre: dict, brightness: float, contrast: float, scale=(0.08, 1.0)):
    return transforms.Compose([
        transforms.RandomResizedCrop(pre["crop"][0], scale=tuple(scale)),
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


def eval_transform(pre: dict):
    """For the per-epoch validation columns only: resize + center crop in PyTorch (the tensors that are scored,
    embedded and exported come from the daemon's own preprocessing)."""
    return transforms.Compose([transforms.Resize(pre["resize"]), transforms.CenterCrop(pre["crop"][0]),
                               transforms.ToTensor(), transforms.Normalize(pre["mean"], pre["std"])])


def _fit(embedder: ImageEmbedder, head: ImageHead, dataset, cfg: dict, epochs: int, classes: int,
         device, gen: torch.Generator, ckpt: Checkpoint, label: str, validate=None) -> None:
    cfg_i = cfg["image"]
    world = distributed.world_size()
    bs = max(1, int(cfg_i["batchSize"]) // world)
    model = distributed.wrap(NetWithHead(embedder, head), device)
    sampler = (torch.utils.data.distributed.DistributedSampler(dataset, shuffle=True, seed=int(gen.initial_seed()),
                                                              drop_last=len(dataset) > bs * world)
               if distributed.enabled() else None)
    loader = torch.utils.data.DataLoader(dataset, batch_size=bs, shuffle=sampler is None, sampler=sampler,
                                         drop_last=len(dataset) > bs * world, generator=gen,
                                         num_workers=loader_workers(cfg_i["workers"]),
                                         pin_memory=device.type == "cuda")
    params = list(embedder.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=cfg_i["lr"], momentum=cfg_i["momentum"], weight_decay=cfg_i["weightDecay"])
    steps = max(1, len(loader))
    sched = warmup_cosine(opt, int(cfg_i["warmupEpochs"] * steps), epochs * steps)
    epoch_of = {"n": 0}

    def batches():
        if sampler is not None:
            sampler.set_epoch(epoch_of["n"])
            epoch_of["n"] += 1
        return loader

    def loss_fn(x, y):
        x, target = mixup(x, y, classes, float(cfg_i["mixup"]), gen)
        return soft_cross_entropy(model(x.to(device, non_blocking=True)), target.to(device))

    fit_epochs({"embedder": embedder, "head": head}, opt, sched, ckpt, epochs, label, batches, loss_fn,
               precision=Precision(device, cfg["amp"]), gen=gen, items=len(sampler) if sampler is not None else len(dataset),
               validate=validate)


def _pretrain(embedder: ImageEmbedder, arch: str, weights: dict, cfg: dict, pre: dict, device, gen, work: Path) -> str:
    """The ImageNet → Places365 stages; returns a description of where the weights came from."""
    cfg_i = cfg["image"]
    origin = "scratch"
    if weights.get("imagenet"):
        load_weights(embedder, weights["imagenet"])
        origin = f"imagenet:{Path(weights['imagenet']).name}"
    if weights.get("places365"):
        load_weights(embedder, weights["places365"])
        return origin + f" → places365:{Path(weights['places365']).name}"
    if weights.get("places365Data"):
        done = work / f"{arch}-places365.pt"
        origin += f" → places365 fine-tuned here ({cfg_i['places365Epochs']} epochs)"
        if done.is_file():
            embedder.load_state_dict(torch.load(done, map_location="cpu")["embedder"])
            log(f"{arch}: Places365 stage done earlier ({done}), reused")
            return origin
        places = datasets.ImageFolder(weights["places365Data"],
                                      transform=train_transform(pre, cfg_i["brightness"], cfg_i["contrast"], cfg_i["cropScale"]))
        head = ImageHead(embedder.embedding_dim, len(places.classes)).to(device)
        log(f"== train-image: {arch} Places365 stage ({len(places)} images, {len(places.classes)} classes)")
        ckpt = Checkpoint(work / f"{arch}-places365.ckpt")
        _fit(embedder, head, places, cfg, int(cfg_i["places365Epochs"]), len(places.classes), device, gen, ckpt,
             f"places365 {arch}")
        save_atomic({"embedder": embedder.state_dict(), "origin": origin}, done)
        ckpt.remove()
    return origin


def train_image_net(cfg: dict, arch: str, train_ids, labels: dict[str, int], out: Path, device, seed: int,
                    pretrain_dir: Path, heldout_ids=()) -> Path:
    """Trains one image net on the task (after the ImageNet → Places365 stages, whose result is kept in
    ``pretrain_dir`` and shared by every held-out stage: it does not depend on the task's data)."""
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
    embedder = ImageEmbedder(arch, cfg_i["stochasticDepth"]).to(device)
    pretrain_dir.mkdir(parents=True, exist_ok=True)
    origin = _pretrain(embedder, arch, cfg_i["weights"].get(arch, {}), cfg, pre, device, gen, pretrain_dir)
    head = ImageHead(embedder.embedding_dim, classes).to(device)
    data = FrameDataset(items, train_transform(pre, cfg_i["brightness"], cfg_i["contrast"], cfg_i["cropScale"]))
    validate = None
    held = [(p, labels[c]) for c in heldout_ids for p in frame_paths(cfg["cacheDir"], c)]
    if held:
        from .audio import window_metrics
        # Its own generator: a DataLoader iterator draws a base seed, which must not come from the global RNG.
        loader = torch.utils.data.DataLoader(FrameDataset(held, eval_transform(pre)), batch_size=32, shuffle=False,
                                             generator=torch.Generator())

        def validate():
            embedder.eval(), head.eval()
            probs = torch.cat([head(embedder(x.to(device))).cpu() for x, _ in loader])
            return window_metrics(probs, torch.tensor([y for _, y in held]))

    ckpt = Checkpoint(out.with_suffix(".ckpt"))
    _fit(embedder, head, data, cfg, int(cfg_i["epochs"]), classes, device, gen, ckpt, f"train {arch} ({out.parent.parent.name})",
         validate)
    save_atomic({"embedder": embedder.state_dict(), "head": head.state_dict(),
                 "spec": {"architecture": arch, "preprocess": pre, "classes": classes, "origin": origin,
                          "stochasticDepth": cfg_i["stochasticDepth"]}}, out)
    ckpt.remove()
    return out


def load_image_model(path: Path) -> tuple[ImageEmbedder, ImageHead, dict]:
    state = torch.load(path, map_location="cpu")
    s = state["spec"]
    emb = ImageEmbedder(s["architecture"], s.get("stochasticDepth"))
    emb.load_state_dict(state["embedder"])
    head = ImageHead(emb.embedding_dim, s["classes"])
    head.load_state_dict(state["head"])
    return emb.eval(), head.eval(), s["preprocess"]


@torch.no_grad()
def embed_and_predict_image(embedder: ImageEmbedder, head: ImageHead, pre: dict, cache_dir: str, clip_ids,
                            device, node: str, jobs: int = 1) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per clip: embeddings ``[W, E]`` and logits ``[W, C]`` of its frames, preprocessed by the daemon's code."""
    embedder.to(device).eval(), head.to(device).eval()
    embs, logits = {}, {}
    bar = Progress(len(clip_ids), f"embed {embedder.architecture}", unit="clips", every=progress_interval())
    for cid, tensors in clip_tensors(cache_dir, clip_ids, pre, node, jobs):
        e = embedder(torch.from_numpy(tensors).to(device))
        embs[cid], logits[cid] = e.cpu().numpy(), head.logits(e).cpu().numpy()
        bar.update(1)
    return embs, logits
