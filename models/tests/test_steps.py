"""Pipeline bookkeeping: the rebuild-vs-shipped comparison export prints, and --resume's config check."""
import json
import tempfile
import unittest
from pathlib import Path

from avscene_models.steps import _changed_keys
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


if __name__ == "__main__":
    unittest.main()
