"""Trains one small audio net with avscene_models' own trainer, for test_distributed.py: run plainly (one process)
or under ``torchrun --nproc_per_node N`` (gloo on CPU). ``python3 -m tests.ddp_train CACHE OUT SEED [EPOCHS]`` (0 epochs: the initial net); the
feature cache holds clips ``clip0…`` whose label is ``i % 2``."""
import sys
from pathlib import Path

import torch

from avscene_models.train.audio import train_audio_net
from tests.test_train import tiny_cfg


def main(cache: str, out: str, seed: str, epochs: str = "1") -> None:
    torch.set_num_threads(1)
    ids = sorted(p.stem for p in (Path(cache) / "features" / "logmel").glob("*.npy"))
    labels = {cid: int(cid[4:]) % 2 for cid in ids}
    cfg = tiny_cfg(Path(cache))
    cfg["audio"].update({"epochs": int(epochs), "batchSize": 32, "dropout": 0.0, "augment": {"mixup": 0.2, "freqShift": 1}})
    train_audio_net(cfg, {"feature": "logmel", "architecture": "resnet1d"}, ids, labels, Path(out),
                    torch.device("cpu"), int(seed))


if __name__ == "__main__":
    main(*sys.argv[1:])
