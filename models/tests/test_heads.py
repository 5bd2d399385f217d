"""Heads: attention pooling, per-frame audio head, fusion head, temperature folding."""
import unittest

import torch

from avscene_models.nets import AttentionPooling, AudioHead, FusionHead, ImageHead


class AttentionPoolingTest(unittest.TestCase):
    def test_weights_are_a_distribution_over_time(self):
        pool = AttentionPooling(8, 4)
        w = pool.weights(torch.randn(3, 6, 8))
        self.assertEqual(tuple(w.shape), (3, 6))
        torch.testing.assert_close(w.sum(1), torch.ones(3))
        self.assertTrue((w > 0).all())

    def test_constant_sequence_pools_to_itself(self):
        pool = AttentionPooling(5, 3)
        v = torch.randn(2, 1, 5)
        torch.testing.assert_close(pool(v.expand(2, 6, 5)), v[:, 0])

    def test_pooling_is_the_attention_weighted_mean(self):
        pool = AttentionPooling(4, 4)
        with torch.no_grad():
            pool.project.weight.copy_(torch.eye(4) * 10)
            pool.project.bias.zero_()
            pool.score.weight.copy_(torch.tensor([[1.0, 0, 0, 0]]))
        seq = torch.zeros(1, 6, 4)
        seq[0, 2, 0] = 1.0            # frame 2 scores tanh(10) ≈ 1, the others 0
        w = torch.softmax(torch.tensor([0, 0, torch.tanh(torch.tensor(10.0)), 0, 0, 0]), 0)
        torch.testing.assert_close(pool.weights(seq)[0], w)
        torch.testing.assert_close(pool(seq)[0], (w[:, None] * seq[0]).sum(0))

    def test_order_invariant(self):
        pool = AttentionPooling(8, 4)
        seq = torch.randn(2, 6, 8)
        torch.testing.assert_close(pool(seq), pool(seq[:, torch.randperm(6)]))


class HeadsTest(unittest.TestCase):
    def test_audio_head_is_mean_of_frame_softmaxes_with_temperature(self):
        head = AudioHead(16, 10).eval()
        head.set_temperature(2.5)
        a = torch.randn(3, 6, 16)
        expected = torch.softmax(head.output(a) / 2.5, -1).mean(1)
        torch.testing.assert_close(head(a), expected)
        torch.testing.assert_close(head(a).sum(1), torch.ones(3))

    def test_image_head(self):
        head = ImageHead(12, 4).eval()
        x = torch.randn(2, 12)
        torch.testing.assert_close(head(x), torch.softmax(head.logits(x), -1))

    def test_fusion_head_layers_and_output(self):
        head = FusionHead(32, 24, 10, hidden=(16, 8)).eval()
        linears = [m for m in head.classifier if isinstance(m, torch.nn.Linear)]
        self.assertEqual([(l.in_features, l.out_features) for l in linears], [(56, 16), (16, 8), (8, 10)])
        self.assertEqual(sum(isinstance(m, torch.nn.BatchNorm1d) for m in head.classifier), 2)
        p = head(torch.randn(4, 6, 32), torch.randn(4, 24))
        self.assertEqual(tuple(p.shape), (4, 10))
        torch.testing.assert_close(p.sum(1), torch.ones(4))


if __name__ == "__main__":
    unittest.main()
