"""Training is seeded (same seed → same weights) and resumes exactly from its per-epoch checkpoint."""
import copy
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from avscene_models import TAU_CLASSES
from avscene_models.config import DEFAULTS
from avscene_models.data.features import feature_path
from avscene_models.train.audio import load_audio_model, train_audio_net
from avscene_models.train.common import Checkpoint, fit_epochs, seed_everything


def tiny_cfg(cache: Path) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    cfg["cacheDir"] = str(cache)
    cfg["audio"].update({"width": 0.25, "fc": [8, 8], "epochs": 2, "batchSize": 16, "restartEpochs": 1,
                         "augment": {"mixup": 0.2, "freqShift": 1}})
    return cfg


class TrainingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        rng = np.random.default_rng(0)
        self.labels = {}
        for i in range(4):
            cid = f"clip{i}"
            path = feature_path(self.root / "cache", "logmel", cid)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, (rng.normal(size=(2, 6, 2, 256)) * 5 - 50 + i).astype(np.float32))
            self.labels[cid] = i % 2

    def tearDown(self):
        self.tmp.cleanup()

    def train(self, name: str, seed: int, heldout=()):
        net_cfg = {"feature": "logmel", "architecture": "resnet1d"}
        path = train_audio_net(tiny_cfg(self.root / "cache"), net_cfg, list(self.labels), self.labels,
                               self.root / name / "net.pt", torch.device("cpu"), seed, heldout_ids=heldout)
        net, head = load_audio_model(path)
        return {**net.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}

    def test_same_seed_same_weights(self):
        a, b, c = self.train("a", 3), self.train("b", 3), self.train("c", 4)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
        self.assertFalse(all(torch.equal(a[k], c[k]) for k in a))

    def test_resume_after_interruption_equals_uninterrupted(self):
        def run(ckpt_path: Path, interrupt_at: int | None):
            seed_everything(0)
            model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
            opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            sched = torch.optim.lr_scheduler.StepLR(opt, 2)
            x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
            calls = {"n": 0}

            def batches():
                order = torch.randperm(32)
                for i in range(0, 32, 8):
                    yield x[order[i:i + 8]], y[order[i:i + 8]]

            def loss_fn(xb, yb):
                calls["n"] += 1
                if interrupt_at is not None and calls["n"] == interrupt_at:
                    raise KeyboardInterrupt
                return torch.nn.functional.cross_entropy(model(xb + 0.1 * torch.randn_like(xb)), yb)

            fit_epochs({"model": model}, opt, sched, Checkpoint(ckpt_path), 3, "t", batches, loss_fn)
            return model

        straight = run(self.root / "s.ckpt", None)
        with self.assertRaises(KeyboardInterrupt):
            run(self.root / "r.ckpt", 6)                  # dies in the second epoch, after epoch 1's checkpoint
        self.assertTrue((self.root / "r.ckpt").is_file())
        resumed = run(self.root / "r.ckpt", None)
        for k, v in straight.state_dict().items():
            torch.testing.assert_close(resumed.state_dict()[k], v, msg=k)
        # kept until the caller has saved the final model (a kill in between must not lose the stage)
        self.assertTrue((self.root / "r.ckpt").exists())

    def test_audio_net_killed_after_an_epoch_resumes_to_the_same_weights(self):
        """The data order (a seeded generator) is part of the checkpoint: the resumed run sees the batches the
        uninterrupted one saw; the checkpoint goes once the final model is saved."""
        from unittest import mock
        from avscene_models.train import common
        straight = self.train("straight", 5)
        real_save = common.Checkpoint.save

        def save_then_die(ckpt, epoch, **state):
            real_save(ckpt, epoch, **state)
            raise KeyboardInterrupt                       # killed right after epoch 0's checkpoint
        with mock.patch.object(common.Checkpoint, "save", save_then_die), self.assertRaises(KeyboardInterrupt):
            self.train("resumed", 5)
        ckpt = self.root / "resumed" / "net.ckpt"
        self.assertTrue(ckpt.is_file())
        self.assertEqual(torch.load(ckpt)["epoch"], 0)
        resumed = self.train("resumed", 5)
        self.assertFalse(ckpt.exists())
        # the epoch log has each epoch once, as the uninterrupted run's
        rows = (self.root / "resumed" / "net.csv").read_text().splitlines()
        self.assertEqual([r.split(",")[0] for r in rows], ["epoch", "1", "2"])
        self.assertEqual(rows, (self.root / "straight" / "net.csv").read_text().splitlines()[:1] + rows[1:])
        for k in straight:
            torch.testing.assert_close(resumed[k], straight[k], rtol=0, atol=0, msg=k)

    def test_epoch_log_and_progress_inside_epochs(self):
        """Per epoch a CSV row with the loss, the learning rate and the held-out clips' metrics; inside an epoch,
        off a TTY, a line every AVSCENE_PROGRESS_SECONDS with items/s and the time left."""
        import contextlib
        import io
        import os
        from unittest import mock
        err = io.StringIO()
        with mock.patch.dict(os.environ, {"AVSCENE_PROGRESS_SECONDS": "0"}), contextlib.redirect_stderr(err):
            with_val = self.train("val", 1, heldout=["clip0", "clip1"])
        rows = (self.root / "val" / "net.csv").read_text().splitlines()
        self.assertEqual(rows[0], "epoch,loss,lr,seconds,valAccuracy,valLogLoss")
        self.assertEqual(len(rows), 3)
        val_loss = float(rows[2].split(",")[5])
        self.assertTrue(0 < val_loss < 10, rows)
        self.assertRegex(err.getvalue(), r"train logmel-resnet1d \(\w+\) epoch 1/2: \d+/48 [\d.]+ items/s \(.*eta")
        # validation reads no random generator: the weights equal a run without it
        plain = self.train("plain", 1)
        for k in plain:
            torch.testing.assert_close(with_val[k], plain[k], rtol=0, atol=0, msg=k)


if __name__ == "__main__":
    unittest.main()
