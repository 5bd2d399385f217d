"""Metrics against hand-computed values; temperature scaling; the baseline."""
import math
import unittest

import numpy as np

from avscene_models.baseline import LogisticBaseline, window_stats
from avscene_models.calibration import fit_temperature, head_probs
from avscene_models.metrics import accuracy, confusion, log_loss, summarize


class MetricsTest(unittest.TestCase):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    labels = np.array([0, 2, 2])

    def test_log_loss_by_hand(self):
        self.assertAlmostEqual(log_loss(self.probs, self.labels), -(math.log(0.7) + math.log(0.1) + math.log(0.6)) / 3, places=12)

    def test_log_loss_clips_zero(self):
        self.assertAlmostEqual(log_loss(np.array([[1.0, 0.0]]), np.array([1])), -math.log(1e-15), places=3)

    def test_accuracy_and_confusion(self):
        self.assertAlmostEqual(accuracy(self.probs, self.labels), 2 / 3)
        np.testing.assert_array_equal(confusion(self.probs, self.labels, 3), [[1, 0, 0], [0, 0, 0], [0, 1, 1]])

    def test_pooled_and_class_averaged_by_hand(self):
        """DCASE's figure averages the per-class values (class a: 1 segment, class c: 2); pooled weighs segments."""
        s = summarize(self.probs, self.labels, ["a", "b", "c"])
        la, lc = -math.log(0.7), -(math.log(0.1) + math.log(0.6)) / 2
        self.assertAlmostEqual(s["logLoss"], (la + 2 * lc) / 3, places=12)
        self.assertAlmostEqual(s["classAverage"]["logLoss"], (la + lc) / 2, places=12)
        self.assertAlmostEqual(s["accuracy"], 2 / 3, places=12)
        self.assertAlmostEqual(s["classAverage"]["accuracy"], (1.0 + 0.5) / 2, places=12)
        self.assertEqual(s["classAverage"]["classes"], 2)             # class b has no segment: not averaged in
        self.assertAlmostEqual(s["perClass"]["a"]["logLoss"], la, places=12)
        self.assertEqual(s["confusion"], [[1, 0, 0], [0, 0, 0], [0, 1, 1]])

    def test_summary_per_class(self):
        s = summarize(self.probs, self.labels, ["a", "b", "c"])
        self.assertEqual(set(s["perClass"]), {"a", "c"})
        self.assertEqual(s["perClass"]["c"]["n"], 2)
        self.assertAlmostEqual(s["perClass"]["c"]["accuracy"], 0.5)
        self.assertAlmostEqual(s["perClass"]["a"]["logLoss"], -math.log(0.7))


class TemperatureTest(unittest.TestCase):
    def test_recovers_overconfidence(self):
        rng = np.random.default_rng(0)
        z = rng.normal(size=(20000, 5)) * 3
        p = np.exp(z / 2) / np.exp(z / 2).sum(1, keepdims=True)       # the truth is softmax(z / 2)
        labels = np.array([rng.choice(5, p=row) for row in p])
        t = fit_temperature(z, labels)
        self.assertAlmostEqual(t, 2.0, delta=0.1)
        self.assertLess(log_loss(head_probs(z, t), labels), log_loss(head_probs(z), labels))

    def test_frame_logits_average_softmaxes(self):
        z = np.random.default_rng(1).normal(size=(4, 6, 3))
        e = np.exp(z / 1.5)
        np.testing.assert_allclose(head_probs(z, 1.5), (e / e.sum(-1, keepdims=True)).mean(1))


class BaselineTest(unittest.TestCase):
    def test_window_stats(self):
        x = np.random.default_rng(0).normal(size=(3, 6, 2, 256)).astype(np.float32)
        s = window_stats(x)
        self.assertEqual(s.shape, (3, 1024))
        np.testing.assert_allclose(s[:, :512], x.mean(1).reshape(3, -1), atol=1e-6)

    def test_learns_separable_classes(self):
        rng = np.random.default_rng(0)
        y = np.repeat(np.arange(3), 30)
        x = rng.normal(size=(90, 10)) + np.eye(3, 10)[y] * 4
        p = LogisticBaseline(3).fit(x, y).predict_proba(x)
        self.assertGreater(accuracy(p, y), 0.95)


if __name__ == "__main__":
    unittest.main()
