"""Pipeline bookkeeping: the rebuild-vs-shipped comparison export prints, and --resume's config check."""
import contextlib
import json
import tempfile
import unittest
from pathlib import Path

import shutil
from unittest import mock

import torch

from avscene_models.config import load_config
from avscene_models.steps import _changed_keys, _start_or_resume
from avscene_models.train.common import Checkpoint, Precision, fit_epochs
from avscene_models.steps.export import compare_with_reference


def manifest(log_loss=0.8, accuracy=0.75, n=70, weights=None):
    return {"metrics": {"logLoss": log_loss, "accuracy": accuracy, "n": n},
            "decision": {"weights": weights or {"logmel-audio": 0.2, "bark-audio": 0.8}}}


class ReferenceBundleTest(unittest.TestCase):
    def test_same_metrics_and_weights_reproduce(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "bundle.json").write_text(json.dumps(manifest()))
            self.assertEqual(compare_with_reference(manifest(), tmp), [])
            diffs = compare_with_reference(manifest(log_loss=0.81, weights={"logmel-audio": 0.25, "bark-audio": 0.75}), tmp)
            self.assertEqual(len(diffs), 2)
            self.assertRegex(diffs[0], r"metrics.logLoss 0.81 \(this run\) vs 0.8 \(reference\)")
            self.assertRegex(diffs[1], r"decision.weights")
            self.assertEqual(compare_with_reference(manifest(n=68), tmp), ["metrics.n 68 (this run) vs 70 (reference)"])

    def test_missing_reference_is_a_difference(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertRegex(compare_with_reference(manifest(), Path(tmp) / "none")[0], "no reference bundle")


class ResumeConfigTest(unittest.TestCase):
    def test_changed_keys_are_named(self):
        a = {"audio": {"epochs": 2, "lr": 0.1}, "seed": 0}
        self.assertEqual(_changed_keys(a, json.loads(json.dumps(a))), [])
        self.assertEqual(_changed_keys(a, {"audio": {"epochs": 3, "lr": 0.1}, "seed": 0, "amp": True}),
                         ["amp", "audio.epochs"])


class ResumeAnywhereTest(unittest.TestCase):
    """run.json holds what changes results (settings, the dataset's fingerprint), not paths or host settings."""

    def setUp(self):
        from tests.test_data import EVAL, TRAIN, write_layout
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        write_layout(self.root / "a" / "ds", TRAIN, EVAL)
        (self.root / "a" / "c.json").write_text(json.dumps({"dataset": "ds", "workDir": "work", "device": "cpu"}))

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_moved_run_resumes_on_another_host(self):
        _start_or_resume(load_config(self.root / "a" / "c.json"), resume=False)
        shutil.move(self.root / "a", self.root / "b")           # dataset, config and workDir moved together
        cfg = load_config(self.root / "b" / "c.json", ['frames.jobs=7', 'features.jobs=3', 'image.workers=0',
                                                       'device="cuda"'])
        _start_or_resume(cfg, resume=True)                      # no error: same settings, same data
        started = json.loads((self.root / "b" / "work" / "run.json").read_text())
        self.assertNotIn(str(self.root), json.dumps(started))  # no path recorded

    def test_other_settings_or_other_data_are_refused(self):
        _start_or_resume(load_config(self.root / "a" / "c.json"), resume=False)
        with self.assertRaisesRegex(ValueError, r"differs .*\(audio\.epochs\)"):
            _start_or_resume(load_config(self.root / "a" / "c.json", ["audio.epochs=3"]), resume=True)
        meta = self.root / "a" / "ds" / "meta.csv"
        meta.write_text(meta.read_text().replace("lisbon-1", "lisbon-9"))     # another recording location
        with self.assertRaisesRegex(ValueError, "the dataset's contents"):
            _start_or_resume(load_config(self.root / "a" / "c.json"), resume=True)


class CheckpointOnAnotherDeviceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ckpt = Path(self.tmp.name) / "n.ckpt"

    def tearDown(self):
        self.tmp.cleanup()

    def _fit(self, precision, epochs):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
        fit_epochs({"model": model}, opt, None, Checkpoint(self.ckpt), epochs, "t", lambda: [(x, y)],
                   lambda xb, yb: torch.nn.functional.cross_entropy(model(xb), yb), precision=precision)
        return model

    def test_a_cpu_checkpoint_resumes_where_a_gradient_scaler_is_expected(self):
        self._fit(None, 1)                                       # written on a CPU: no scaler state
        self.assertNotIn("scaler", torch.load(self.ckpt))
        cuda = Precision(torch.device("cpu"), False)
        cuda.enabled = True                                      # what Precision(cuda, amp=True) sets on a GPU host
        with mock.patch.object(cuda, "autocast", lambda: contextlib.nullcontext()):
            self._fit(cuda, 2)                                   # loads the epoch-0 checkpoint with a scaler: no KeyError
        self.assertIn("scaler", torch.load(self.ckpt))
        self.assertEqual(torch.load(self.ckpt)["epoch"], 1)

    def test_cuda_rng_state_is_saved_and_restored(self):
        states = [torch.ByteTensor([1, 2, 3])]
        restored = []
        with mock.patch("torch.cuda.is_available", return_value=True), \
                mock.patch("torch.cuda.device_count", return_value=1), \
                mock.patch("torch.cuda.get_rng_state_all", return_value=states), \
                mock.patch("torch.cuda.set_rng_state_all", side_effect=restored.append):
            Checkpoint(self.ckpt).save(0, model=torch.nn.Linear(1, 1))
            self.assertEqual(torch.load(self.ckpt)["rng"]["cuda"][0].tolist(), [1, 2, 3])
            Checkpoint(self.ckpt).load(model=torch.nn.Linear(1, 1))
        self.assertEqual(restored[0][0].tolist(), [1, 2, 3])


if __name__ == "__main__":
    unittest.main()
