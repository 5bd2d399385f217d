"""Every setting's source: report values recorded and drift flagged in report.md, reasons computed from the run's
values, the README's deviations table complete, tables in the report's order."""
import copy
import json
import re
import unittest
from pathlib import Path

from avscene_models.config import load_config
from avscene_models.report import markdown_report
from avscene_models.sources import ours_settings, render_reason, report_drift

MODELS = Path(__file__).resolve().parents[1]
REPORT_CONFIG = MODELS / "configs" / "report-tau2021.json"


def metrics(ll=0.5, acc=0.8):
    return {"logLoss": ll, "accuracy": acc, "n": 10, "classAverage": {"logLoss": ll, "accuracy": acc, "classes": 2},
            "perClass": {}}


def fake_report(cfg, heads):
    return {"dataset": "d", "split": "fold1_evaluate", "heads": heads, "systems": {}, "baseline": metrics(),
            "calibration": {"method": "none", "heads": {}}, "stages": ["fold0"], "finalStage": "final",
            "finalTrainClips": 9, "trainClips": 9, "ours": ours_settings(cfg), "notReport": report_drift(cfg)}


class ReportValuesTest(unittest.TestCase):
    def setUp(self):
        self.cfg = load_config(REPORT_CONFIG)

    def test_every_report_tag_records_the_report_value_and_the_config_holds_it(self):
        tagged = {k: v for k, v in self.cfg["sources"].items() if isinstance(v, dict)}
        self.assertGreater(len(tagged), 15)
        self.assertEqual(report_drift(self.cfg), [])          # report mode is the report's system
        self.assertEqual(tagged["image.stochasticDepth"]["value"], 0)
        self.assertEqual(tagged["submission"]["value"], False)
        for key in ("heldout.retrain", "image.size", "audio.momentum", "audio.pooling", "audio.standardize",
                    "image.cropScale", "fusion.objective", "heads.attentionDim"):
            self.assertTrue(self.cfg["sources"][key].startswith("ours: "), key)
        self.assertNotIn("0.9", self.cfg["sources"]["audio.momentum"])    # the report is silent: no number of its own

    def test_a_changed_report_value_is_listed_under_the_tables(self):
        cfg = copy.deepcopy(self.cfg)
        cfg["audio"]["width"] = 0.25
        cfg["image"]["nets"] = ["mobilenet_v3_small"]
        drift = report_drift(cfg)
        self.assertEqual([d["key"] for d in drift], ["audio.width", "image.nets"])
        md = markdown_report(fake_report(cfg, {}), cfg)
        self.assertRegex(md, r"\*\*Not the report's system:\*\* `audio\.width` = `0\.25` \(report: `1\.0`")
        self.assertIn('`image.nets` = `["mobilenet_v3_small"]`', md)
        self.assertIn("> Not the report's system: 2 report value(s) changed", md)
        self.assertNotIn("Not the report's system", markdown_report(fake_report(self.cfg, {}), self.cfg))

    def test_reasons_quote_computed_numbers(self):
        ours = {o["key"]: o["reason"] for o in ours_settings(self.cfg)}
        self.assertIn("70 = 3 whole cosine cycles (10 + 20 + 40), ending at lrMin", ours["audio.epochs"])
        self.assertIn("10 % of the training recording locations", ours["heldout.fraction"])
        cfg = copy.deepcopy(self.cfg)
        cfg["audio"]["restartMult"] = 3
        cfg["heldout"]["fraction"] = 0.25
        ours = {o["key"]: o["reason"] for o in ours_settings(cfg)}
        self.assertIn("70 = 2 whole cosine cycles (10 + 30) and 30 epochs of the next (90)", ours["audio.epochs"])
        self.assertIn("25 % of the training", ours["heldout.fraction"])
        with self.assertRaisesRegex(ValueError, "not a config key"):
            render_reason("{audio.nope}", cfg)

    def test_no_ours_reason_hand_writes_the_value_it_explains(self):
        """A reason must not spell out its own key's value (it would go stale): it names it as {key}."""
        for key, text in self.cfg["sources"].items():
            if isinstance(text, str):
                value = self.cfg
                for k in key.split("."):
                    value = value.get(k) if isinstance(value, dict) else None
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value not in (0, 1):
                    self.assertNotRegex(text, rf"(?<![\d.]){re.escape(f'{value:g}')}(?![\d.])", key)

    def test_readme_deviation_table_lists_every_ours_setting(self):
        readme = (MODELS / "README.md").read_text()
        table = readme[readme.index("### Deviations from the report"):readme.index("## Bundles for tests")]
        missing = [o["key"] for o in ours_settings(self.cfg) if f"`{o['key']}`" not in table]
        self.assertEqual(missing, [])


class TableOrderTest(unittest.TestCase):
    def test_tables_2_and_3_in_the_reports_order(self):
        cfg = load_config(REPORT_CONFIG)
        heads = {}
        for feat in ("bark", "logmel", "scalogram"):
            for arch in ("resnet1d", "dcnn"):
                heads[f"{feat}-{arch}"] = {"kind": "audio", "feature": feat, "architecture": arch, **metrics()}
        for arch in ("swin_t", "resnet50", "efficientnet_v2_s", "efficientnet_b5"):
            heads[arch] = {"kind": "image", "architecture": arch, **metrics()}
        md = markdown_report(fake_report(cfg, heads), cfg)
        rows = [l.split(" | ")[:2] for l in md.splitlines() if l.startswith(("log-mel |", "scalogram |", "bark |"))]
        self.assertEqual(rows, [["log-mel", "DCNN"], ["log-mel", "1D-ResNet"], ["scalogram", "DCNN"],
                                ["scalogram", "1D-ResNet"], ["bark", "DCNN"], ["bark", "1D-ResNet"]])
        t3 = md[md.index("## Table 3"):]
        order = [t3.index(n) for n in ("ResNet-50 |", "EffNet-b5 |", "EffNetV2-S |", "SwinT |")]
        self.assertEqual(order, sorted(order))


if __name__ == "__main__":
    unittest.main()
