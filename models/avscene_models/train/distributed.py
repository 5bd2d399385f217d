"""Data-parallel training with PyTorch's own engine: ``torchrun`` starts one process per GPU (or per CPU worker)
and sets RANK / WORLD_SIZE / LOCAL_RANK; here the process group is joined (NCCL on GPUs, gloo on CPU), each rank
drives the GPU of its LOCAL_RANK, models are wrapped in DistributedDataParallel, and only rank 0 writes files.

Without torchrun (WORLD_SIZE unset or 1) every function here is a no-op and training is the plain one-process loop.
"""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

#: Rank 0 alone runs the steps that are not data-parallel (features, embeddings, evaluation) while the others wait
#: at a barrier: the default 30-minute timeout would kill the job during the feature extraction of the full set.
BARRIER_TIMEOUT = datetime.timedelta(hours=12)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def enabled() -> bool:
    return world_size() > 1


def is_main() -> bool:
    return rank() == 0


def init(device: torch.device) -> None:
    """Joins the process group once (torchrun's env:// rendezvous): NCCL when training on CUDA, gloo otherwise."""
    if not enabled() or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=BARRIER_TIMEOUT)


def barrier() -> None:
    if enabled() and dist.is_initialized():
        dist.barrier()


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``model`` (BatchNorm synchronised across GPUs, so the statistics are those of
    the global batch as on one GPU; SyncBatchNorm needs CUDA, so on CPU each rank normalises its own shard)."""
    if not enabled():
        return model
    init(device)
    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    return torch.nn.parallel.DistributedDataParallel(model)


def shard(batch: torch.Tensor) -> torch.Tensor:
    """This rank's contiguous share of a global batch (every rank draws the same global batch from the same seed)."""
    if not enabled():
        return batch
    return torch.tensor_split(batch, world_size())[rank()]


def all_mean(value: float, weight: int, device: torch.device) -> float:
    """Weighted mean of a per-rank value over all ranks (for the progress line; NCCL reduces CUDA tensors only)."""
    if not enabled():
        return value
    t = torch.tensor([value * weight, float(weight)], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t[0] / max(float(t[1]), 1.0))
