"""Audio nets against Table 1, image embedders, input standardisation."""
import unittest

import torch

from avscene_models.nets import ImageEmbedder, build_audio_net, parameter_count


class ResNet1dTable1(unittest.TestCase):
    def test_block_shapes_n256(self):
        net = build_audio_net("resnet1d", 256).eval()
        x = torch.randn(6, 2, 256)
        shapes = []
        h = x
        for blk in net.blocks:
            h = blk(h)
            shapes.append(tuple(h.shape))
        # c → 2c … 16c with c = 2; conv k3 pad 0 (−2), pool 2 stride 2 pad 1 (⌊(L−2+2−2)/2⌋+1)
        self.assertEqual(shapes, [(6, 4, 128), (6, 8, 64), (6, 16, 32), (6, 32, 16)])
        self.assertEqual(net.concat_width, 512 + 4 * 128 + 8 * 64 + 16 * 32 + 32 * 16)   # 2560
        self.assertEqual(tuple(net(x).shape), (6, 1024))                                  # FC3 = embedding

    def test_fc_stack_and_parameter_count(self):
        net = build_audio_net("resnet1d", 256)
        linears = [m for m in net.fc if isinstance(m, torch.nn.Linear)]
        self.assertEqual([(l.in_features, l.out_features) for l in linears], [(2560, 2048), (2048, 1024), (1024, 1024)])
        n = parameter_count(net)
        self.assertTrue(8.2e6 < n < 8.6e6, n)   # ≈ 8.4 M, nearly all FC1; + the 10-way output layer in the head

    def test_scalogram_bands(self):
        net = build_audio_net("resnet1d", 290).eval()
        self.assertEqual(net.concat_width, 580 + 4 * 145 + 8 * 72 + 16 * 36 + 32 * 18)
        self.assertEqual(tuple(net(torch.randn(3, 2, 290)).shape), (3, 1024))

    def test_residual_shortcut_is_1x1(self):
        blk = build_audio_net("resnet1d", 256).blocks[0]
        self.assertEqual(tuple(blk.conv.weight.shape), (4, 2, 3))
        self.assertEqual(tuple(blk.shortcut.weight.shape), (4, 2, 1))
        self.assertEqual(blk.conv.padding, (0,))

    def test_width_and_fc_are_configurable(self):
        net = build_audio_net("resnet1d", 256, width=0.5, fc=(64, 32, 16)).eval()
        self.assertEqual([b.conv.out_channels for b in net.blocks], [2, 4, 8, 16])
        self.assertEqual(tuple(net(torch.randn(2, 2, 256)).shape), (2, 16))

    def test_dcnn(self):
        net = build_audio_net("dcnn", 256).eval()
        self.assertEqual(tuple(net(torch.randn(6, 2, 256)).shape), (6, 1024))
        self.assertFalse(hasattr(net.blocks[0], "shortcut"))
        with self.assertRaises(ValueError):
            build_audio_net("lstm", 256)

    def test_input_standardisation_is_in_the_graph(self):
        net = build_audio_net("resnet1d", 256, fc=(8,)).eval()
        x = torch.randn(4, 2, 256) * 7 - 60
        ref = net(torch.zeros_like(x))
        net.set_input_stats(x.mean(0), x.std(0))
        y = net(x)
        net.set_input_stats(torch.zeros(2, 256), torch.ones(2, 256))
        z = net((x - x.mean(0)) / x.std(0))
        torch.testing.assert_close(y, z)
        self.assertFalse(torch.equal(ref, y))


    def test_pooling_type_changes_the_layer(self):
        x = torch.randn(4, 2, 256) * 5
        torch.manual_seed(0)
        mx = build_audio_net("resnet1d", 256, fc=(8,)).eval()
        torch.manual_seed(0)
        av = build_audio_net("resnet1d", 256, fc=(8,), pooling="avg").eval()
        self.assertIsInstance(mx.blocks[0].pool, torch.nn.MaxPool1d)
        self.assertIsInstance(av.blocks[0].pool, torch.nn.AvgPool1d)
        self.assertIsInstance(build_audio_net("dcnn", 256, pooling="avg").blocks[2].layers[-1], torch.nn.AvgPool1d)
        self.assertEqual(av.concat_width, mx.concat_width)       # same shapes (kernel 2, stride 2, pad 1)
        self.assertFalse(torch.allclose(mx(x), av(x)))           # same weights, another output
        with self.assertRaisesRegex(ValueError, "pooling"):
            build_audio_net("resnet1d", 256, pooling="lp")

    def test_standardize_off_leaves_the_input_as_it_is(self):
        import copy
        from avscene_models.config import DEFAULTS
        from avscene_models.data.features import feature_path
        from avscene_models.train.audio import load_audio_model, train_audio_net
        import tempfile
        import numpy as np
        from pathlib import Path
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache"
            labels = {}
            for i in range(4):
                p = feature_path(cache, "logmel", f"c{i}")
                p.parent.mkdir(parents=True, exist_ok=True)
                np.save(p, (np.random.default_rng(i).normal(size=(1, 6, 2, 256)) * 5 - 50).astype(np.float32))
                labels[f"c{i}"] = i % 2
            means = {}
            for on in (True, False):
                cfg = copy.deepcopy(DEFAULTS)
                cfg["cacheDir"] = str(cache)
                cfg["audio"].update({"width": 0.25, "fc": [8], "epochs": 1, "batchSize": 8, "restartEpochs": 1,
                                     "standardize": on})
                path = train_audio_net(cfg, {"feature": "logmel", "architecture": "resnet1d"}, list(labels), labels,
                                       Path(tmp) / str(on) / "n.pt", torch.device("cpu"), 0)
                means[on] = load_audio_model(path)[0].input_mean
        self.assertLess(float(means[True].mean()), -40)           # fitted on the dB frames
        self.assertTrue(torch.equal(means[False], torch.zeros(2, 256)))


class ImageEmbedders(unittest.TestCase):
    def test_stochastic_depth_zero_removes_the_drop_path_modules(self):
        from avscene_models.nets.image import drop_path_modules
        for arch in ("efficientnet_v2_s", "swin_t", "efficientnet_b5"):
            default, none = ImageEmbedder(arch), ImageEmbedder(arch, 0)
            ps = [m.p for m in drop_path_modules(default)]
            self.assertAlmostEqual(max(ps), 0.2, delta=0.02, msg=arch)            # torchvision's, up to 0.2
            self.assertEqual(drop_path_modules(none), [], arch)
            none.load_state_dict(default.state_dict())                            # no weight changes
            if arch == "efficientnet_v2_s":
                half = [m.p for m in drop_path_modules(ImageEmbedder(arch, 0.1))]
                for a, b in zip(ps, half):
                    self.assertAlmostEqual(b, a / 2)
        self.assertEqual(drop_path_modules(ImageEmbedder("resnet50", 0)), [])
        with self.assertRaisesRegex(ValueError, "no stochastic depth"):
            ImageEmbedder("resnet50", 0.1)

    def test_mobilenet_embedding(self):
        emb = ImageEmbedder("mobilenet_v3_small").eval()
        self.assertEqual(emb.embedding_dim, 576)
        self.assertEqual(tuple(emb(torch.randn(1, 3, 64, 64)).shape), (1, 576))

    def test_report_backbone_widths(self):
        for arch, dim in (("resnet50", 2048), ("efficientnet_b5", 2048), ("efficientnet_v2_s", 1280), ("swin_t", 768)):
            self.assertEqual(ImageEmbedder(arch).embedding_dim, dim, arch)

    def test_local_weights_load_without_the_classifier(self):
        import tempfile
        import torchvision
        from avscene_models.nets import load_weights
        full = torchvision.models.mobilenet_v3_small(weights=None, num_classes=365)   # e.g. a Places365 checkpoint
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/w.pth.tar"
            torch.save({"state_dict": {f"module.{k}": v for k, v in full.state_dict().items()}}, path)
            emb = ImageEmbedder("mobilenet_v3_small")
            self.assertEqual(load_weights(emb, path), [])
        torch.testing.assert_close(emb.backbone.features[0][0].weight, full.features[0][0].weight)
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(torchvision.models.resnet18(weights=None).state_dict(), f"{tmp}/r.pth")
            with self.assertRaisesRegex(ValueError, "do not fit"):
                load_weights(ImageEmbedder("mobilenet_v3_small"), f"{tmp}/r.pth")

    def test_unknown_arch(self):
        with self.assertRaises(ValueError):
            ImageEmbedder("not_a_net")


if __name__ == "__main__":
    unittest.main()
