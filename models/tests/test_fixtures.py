"""Fixture systems: what the full-size report bundles hold, checked without building or exporting a big net."""
import unittest

from avscene_models.__main__ import main
from avscene_models.fixtures import SYSTEMS, fixture_system
from avscene_models.systems import REPORT_PAIRS


class ReportFixtureTest(unittest.TestCase):
    def test_report_iii_is_table_5_system_iii(self):
        s = fixture_system("report-III")
        self.assertEqual(s.name, "fixture-report-iii")
        self.assertEqual(s.image_archs, ("efficientnet_b5", "efficientnet_v2_s", "swin_t"))
        self.assertEqual(s.method, "weighted")
        # Table 4's models 4..12 with Table 5's weights, in ID order
        self.assertEqual(list(s.weights), ["effnet-b5-logmel", "effnet-b5-scalogram", "effnet-b5-bark",
                                           "effnetv2-s-logmel", "effnetv2-s-scalogram", "effnetv2-s-bark",
                                           "swin-t-logmel", "swin-t-scalogram", "swin-t-bark"])
        self.assertEqual(list(s.weights.values()), [0.4, 0, 0.15, 0.2, 0.15, 0, 0.1, 0, 0])
        self.assertEqual((s.width, s.fc, s.image_size, s.fusion_hidden), (1.0, (2048, 1024, 1024), None, (512, 256)))
        heads, audio_nets, image_nets = s.kept()
        self.assertEqual(set(heads), {"effnet-b5-logmel", "effnet-b5-bark", "effnetv2-s-logmel", "effnetv2-s-scalogram",
                                      "swin-t-logmel", "logmel-audio", "scalogram-audio", "bark-audio",
                                      "effnet-b5-image"})
        self.assertEqual(heads["effnetv2-s-scalogram"].audio_net, "scalogram-resnet1d")
        self.assertEqual(heads["effnet-b5-bark"].audio_net, "bark-dcnn")
        self.assertEqual(audio_nets, {"logmel-resnet1d", "scalogram-resnet1d", "bark-dcnn"})
        self.assertEqual(image_nets, {"effnet-b5", "effnetv2-s", "swin-t"})     # no ResNet-50

    def test_report_12_is_every_table_4_model_unweighted(self):
        s = fixture_system("report-12")
        self.assertEqual(s.image_archs, ("resnet50", "efficientnet_b5", "efficientnet_v2_s", "swin_t"))
        self.assertEqual((s.method, s.fallback), ("unweighted", None))
        heads, audio_nets, image_nets = s.kept()
        self.assertEqual(len(heads), 12)
        self.assertEqual(set(s.weights.values()), {1.0})
        self.assertEqual({(h.image_net, h.audio_net) for h in heads.values()},
                         {(i, a) for i in ("resnet50", "effnet-b5", "effnetv2-s", "swin-t")
                          for a in ("logmel-resnet1d", "scalogram-resnet1d", "bark-dcnn")})
        self.assertEqual(len(REPORT_PAIRS), 12)

    def test_cli_offers_every_system_and_refuses_others(self):
        self.assertEqual(SYSTEMS, ("audio", "av", "report-III", "report-12"))
        with self.assertRaises(SystemExit):
            main(["fixture", "--system", "report-IV", "--out", "/nonexistent"])
        with self.assertRaisesRegex(ValueError, "unknown fixture system"):
            fixture_system("report-IV")


if __name__ == "__main__":
    unittest.main()
