"""Decision fusion grid search (step 0.05) on constructed outputs with a known optimum."""
import math
import unittest

import numpy as np

from avscene_models.decision import fuse, grid_search, simplex_grid


class GridSearchTest(unittest.TestCase):
    def test_simplex_grid(self):
        g = simplex_grid(3, 0.05)
        self.assertEqual(len(g), math.comb(22, 2))     # 231 compositions of 20 into 3 parts
        np.testing.assert_allclose(g.sum(1), 1)
        self.assertTrue((g >= 0).all())
        with self.assertRaises(ValueError):
            simplex_grid(2, 0.3)

    def test_finds_the_known_optimum(self):
        # Head A is certain and right on 60 % of the segments, head B on the other 40 %; head C is always poor.
        # Log loss −[0.6 log w_A + 0.4 log w_B] (+ C's tiny share) is minimal at w = (0.6, 0.4, 0).
        n, c = 100, 4
        labels = np.arange(n) % c
        a = np.full((n, c), 1e-9); b = np.full((n, c), 1e-9)
        a_right = np.arange(n) < 60
        a[a_right, labels[a_right]] = 1
        b[~a_right, labels[~a_right]] = 1
        bad = np.full((n, c), 0.99 / (c - 1)); bad[np.arange(n), labels] = 0.01
        w, loss = grid_search([a, b, bad], labels, 0.05)
        np.testing.assert_allclose(w, [0.6, 0.4, 0.0])
        self.assertAlmostEqual(loss, -(0.6 * math.log(0.6) + 0.4 * math.log(0.4)), places=6)

    def test_min_weight_keeps_every_head(self):
        labels = np.array([0, 1])
        good = np.array([[0.9, 0.1], [0.1, 0.9]])
        bad = np.array([[0.2, 0.8], [0.8, 0.2]])
        np.testing.assert_allclose(grid_search([good, bad], labels)[0], [1.0, 0.0])
        np.testing.assert_allclose(grid_search([good, bad], labels, min_weight=0.1)[0], [0.9, 0.1])
        with self.assertRaises(ValueError):
            grid_search([good, bad], labels, min_weight=0.6)

    def test_class_averaged_objective_weighs_every_class_equally(self):
        """Head A is right on class 0 (90 segments), head B on class 1 (10 segments). Pooled log loss weighs the
        classes 90:10 and picks w = (0.9, 0.1); class-averaged weighs them equally and picks (0.5, 0.5)."""
        labels = np.array([0] * 90 + [1] * 10)
        a = np.full((100, 2), 1e-9); b = np.full((100, 2), 1e-9)
        a[:90, 0] = 1; b[90:, 1] = 1
        np.testing.assert_allclose(grid_search([a, b], labels, 0.05)[0], [0.9, 0.1])
        w, loss = grid_search([a, b], labels, 0.05, objective="classAverage")
        np.testing.assert_allclose(w, [0.5, 0.5])
        self.assertAlmostEqual(loss, -math.log(0.5), places=6)
        with self.assertRaisesRegex(ValueError, "fusion.objective"):
            grid_search([a, b], labels, 0.05, objective="macro")

    def test_fuse_is_the_normalised_weighted_mean(self):
        p1 = np.array([[0.9, 0.1]]); p2 = np.array([[0.5, 0.5]])
        np.testing.assert_allclose(fuse([p1, p2], [3, 1]), [[0.8, 0.2]])


if __name__ == "__main__":
    unittest.main()
