"""TAU layout reader, dataset check, held-out stages, config loading."""
import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from avscene_models import TAU_CLASSES
from avscene_models.config import load_config
from avscene_models.data.dataset import check_dataset, read_dataset
from avscene_models.train.common import make_stages

CLASSES = list(TAU_CLASSES)
HEAD = "filename_audio\tfilename_video\tscene_label"


def write_layout(root: Path, train: list[str], evaluate: list[str], wav_ok=True, videos=()):
    (root / "audio").mkdir(parents=True)
    (root / "video").mkdir()
    (root / "evaluation_setup").mkdir()
    rows = []
    for cid in train + evaluate:
        scene, city, loc, _ = cid.rsplit("-", 3) if cid.count("-") >= 3 else (cid.split("-")[0], "x", "0", "0")
        rows.append(f"audio/{cid}.wav\tvideo/{cid}.mp4\t{scene}\t{city}-{loc}")
        if wav_ok:
            import numpy as np
            import soundfile as sf
            sf.write(root / "audio" / f"{cid}.wav", np.zeros((48000 * 2, 2)), 48000, subtype="PCM_16")
    for cid in videos:
        (root / "video" / f"{cid}.mp4").write_bytes(b"")
    (root / "meta.csv").write_text(HEAD + "\tidentifier\n" + "\n".join(rows) + "\n")
    for name, ids in (("fold1_train.csv", train), ("fold1_evaluate.csv", evaluate)):
        lines = [f"audio/{c}.wav\tvideo/{c}.mp4\t{c.split('-')[0]}" for c in ids]
        (root / "evaluation_setup" / name).write_text(HEAD + "\n" + "\n".join(lines) + "\n")


TRAIN = ["airport-lisbon-1-10", "airport-lisbon-1-11", "airport-paris-2-20", "bus-prague-3-30", "bus-prague-3-31",
         "park-lyon-4-40", "park-milan-5-50", "park-milan-5-51", "park-london-6-60"]
EVAL = ["airport-vienna-7-70", "park-lyon-8-80"]


class LayoutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name) / "ds"

    def tearDown(self):
        self.tmp.cleanup()

    def test_reads_clips_splits_locations_and_missing_videos(self):
        write_layout(self.root, TRAIN, EVAL, videos=["bus-prague-3-30"])
        ds = read_dataset(self.root, CLASSES)
        self.assertEqual(ds.problems, [])
        self.assertEqual(ds.splits["train"], TRAIN)
        self.assertEqual(ds.clips["park-milan-5-51"].location, "milan-5")
        self.assertEqual(ds.clips["park-milan-5-51"].label, "park")
        self.assertIsNotNone(ds.clips["bus-prague-3-30"].video)
        self.assertIsNone(ds.clips["bus-prague-3-31"].video)
        self.assertTrue(any("video files missing" in w for w in ds.warnings))

    def test_check_reports_problems(self):
        write_layout(self.root, TRAIN, EVAL)
        (self.root / "audio" / "park-lyon-4-40.wav").unlink()
        (self.root / "audio" / "bus-prague-3-31.wav").write_bytes(b"RIFF junk")
        text = (self.root / "evaluation_setup" / "fold1_evaluate.csv").read_text()
        (self.root / "evaluation_setup" / "fold1_evaluate.csv").write_text(text + "audio/x-y-1-2.wav\tvideo/x.mp4\tcasino\n")
        report = check_dataset(self.root, CLASSES)
        self.assertFalse(report["ok"])
        joined = "\n".join(report["problems"])
        self.assertIn("audio files missing", joined)
        self.assertIn("unreadable WAV", joined)
        self.assertIn("labels ['casino'] (1 rows) are not in the config's `classes`", joined)
        self.assertIn("public_square", report["untrainedClasses"])

    def test_own_classes_other_file_names_and_no_identifiers_warn_about_locations(self):
        """A dataset of your own: its class list, its split file names, no `identifier` column and file names
        that are not TAU's: every clip becomes its own location, and the check says so and how to fix it."""
        root = self.root
        (root / "wav").mkdir(parents=True)
        import numpy as np
        import soundfile as sf
        rows = {"train": [("rec1.wav", "quiet"), ("rec2.wav", "busy")], "evaluate": [("rec3.wav", "busy")]}
        for split, items in rows.items():
            for name, _ in items:
                sf.write(root / "wav" / name, np.zeros((16000, 2)), 16000, subtype="PCM_16")
            (root / f"{split}.tsv").write_text("filename_audio\tscene_label\n" +
                                               "".join(f"wav/{n}\t{lab}\n" for n, lab in items))
        (root / "all.tsv").write_text("filename_audio\tscene_label\n" + "".join(
            f"wav/{n}\t{lab}\n" for items in rows.values() for n, lab in items))
        files = {"meta": "all.tsv", "train": "train.tsv", "evaluate": "evaluate.tsv"}
        report = check_dataset(root, ["quiet", "busy"], files)
        self.assertTrue(report["ok"], report["problems"])
        self.assertEqual(report["splits"], {"train": 2, "evaluate": 1})
        warning = next(w for w in report["warnings"] if "no recording location" in w)
        self.assertIn("3 of 3 clips", warning)
        self.assertIn("add an `identifier` column", warning)
        self.assertIn("all.tsv", warning)
        # the default file names do not exist there: named as missing
        self.assertIn("meta.csv: missing", "\n".join(read_dataset(root, ["quiet", "busy"]).problems))
        # a TAU class list on this data: the error names the key to set
        problems = "\n".join(read_dataset(root, CLASSES, files).problems)
        self.assertIn("not in the config's `classes`", problems)

    def test_tau_names_give_locations_without_warning(self):
        write_layout(self.root, TRAIN, EVAL)
        self.assertFalse(any("recording location" in w for w in read_dataset(self.root, CLASSES).warnings))

    def test_comma_separated_csv_is_named(self):
        write_layout(self.root, TRAIN, EVAL)
        (self.root / "meta.csv").write_text("filename_audio,filename_video,scene_label\n")
        self.assertIn("tab-separated", "\n".join(read_dataset(self.root, CLASSES).problems))

    def test_missing_root(self):
        self.assertIn("not a directory", read_dataset(self.root / "nope", CLASSES).problems[0])


class StagesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name) / "ds"
        write_layout(root, TRAIN, EVAL, wav_ok=False)
        self.ds = read_dataset(root, CLASSES)

    def tearDown(self):
        self.tmp.cleanup()

    def test_submission_adds_a_last_stage_on_all_development_data(self):
        """Report mode's tables score the final stage (train split only); submission mode also trains a stage on
        train + evaluate (§3.1.2), and that is the one exported."""
        plain, final = make_stages(self.ds, {"mode": "split", "fraction": 0.3, "retrain": True}, seed=0)
        stages, final2 = make_stages(self.ds, {"mode": "split", "fraction": 0.3, "retrain": True}, seed=0,
                                     submission=True)
        self.assertEqual(stages[:-1], plain)
        self.assertEqual(final2, final)
        self.assertEqual(set(final.train), set(TRAIN))
        self.assertEqual((stages[-1].name, set(stages[-1].train), stages[-1].heldout),
                         ("submission", set(TRAIN) | set(EVAL), ()))

    def test_crossval_is_a_grouped_partition(self):
        stages, final = make_stages(self.ds, {"mode": "crossval", "folds": 3}, seed=0)
        self.assertEqual(final.name, "final")
        self.assertEqual(set(final.train), set(TRAIN))
        held = [i for s in stages[:-1] for i in s.heldout]
        self.assertEqual(sorted(held), sorted(TRAIN))                # every training clip held out exactly once
        for s in stages[:-1]:
            self.assertFalse(set(s.train) & set(s.heldout))
            train_locs = {self.ds.clips[i].location for i in s.train}
            for i in s.heldout:                                      # multi-location classes: by location
                if self.ds.clips[i].label != "bus":
                    self.assertNotIn(self.ds.clips[i].location, train_locs)

    def test_single_location_class_is_grouped_by_clip(self):
        stages, _ = make_stages(self.ds, {"mode": "crossval", "folds": 2}, seed=0)
        bus_folds = [s.name for s in stages[:-1] for i in s.heldout if i.startswith("bus")]
        self.assertEqual(len(bus_folds), 2)

    def test_split_keeps_every_class_in_training(self):
        stages, final = make_stages(self.ds, {"mode": "split", "fraction": 0.5}, seed=0)
        self.assertEqual(stages, [final])
        labels = {self.ds.clips[i].label for i in final.train}
        self.assertEqual(labels, {"airport", "bus", "park"})
        self.assertTrue(final.heldout)


class ConfigTest(unittest.TestCase):
    def test_defaults_overrides_and_paths(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "c.json"
            p.write_text(json.dumps({"dataset": "data", "workDir": "work", "audio": {"epochs": 3}}))
            cfg = load_config(p, ["audio.lrMax=0.5", "name=x"])
            self.assertEqual(cfg["audio"]["epochs"], 3)
            self.assertEqual(cfg["audio"]["lrMax"], 0.5)
            self.assertEqual(cfg["audio"]["batchSize"], 128)
            self.assertEqual(cfg["name"], "x")
            self.assertEqual(cfg["dataset"], str(Path(tmp).resolve() / "data"))
            self.assertEqual(cfg["cacheDir"], str(Path(tmp).resolve() / "work" / "cache"))
            p.write_text(json.dumps({"dataset": "d", "workDir": "w", "epochs": 3}))
            with self.assertRaisesRegex(ValueError, "unknown keys"):
                load_config(p)


if __name__ == "__main__":
    unittest.main()


class ReportConfigTest(unittest.TestCase):
    def test_report_config_names_every_system_of_the_report(self):
        from avscene_models.steps.run import Run
        cfg_path = Path(__file__).resolve().parents[1] / "configs" / "report-tau2021.json"
        with tempfile.TemporaryDirectory() as tmp:
            write_layout(Path(tmp) / "ds", TRAIN, EVAL)
            cfg = load_config(cfg_path, [f'dataset="{tmp}/ds"', f'workDir="{tmp}/work"', 'device="cpu"'])
            run = Run(cfg)
            table = run.head_table()
            kinds = [d["kind"] for d in table.values()]
            self.assertEqual((kinds.count("audio"), kinds.count("image"), kinds.count("fusion")), (6, 4, 12))
            # embeddings for the fusion heads: 1D-ResNet on log-mel and scalogram, DCNN on Bark (§4)
            self.assertEqual(table["effnet-b5-bark"]["audioNet"], "bark-dcnn")
            self.assertEqual(table["swin-t-scalogram"]["audioNet"], "scalogram-resnet1d")
            systems = run.systems()
            self.assertEqual(systems["III"]["heads"][0], "effnet-b5-logmel")          # Table 4 ID 4
            self.assertEqual(len(systems["III"]["heads"]), 9)
            self.assertEqual(systems["II"]["method"], "unweighted")
            self.assertEqual(cfg["export"]["system"], "III")

    def test_report_config_is_report_mode_and_sources_every_hyperparameter(self):
        from avscene_models.sources import missing_sources, ours_settings
        cfg_path = Path(__file__).resolve().parents[1] / "configs" / "report-tau2021.json"
        cfg = load_config(cfg_path)
        self.assertEqual(cfg["calibration"]["method"], "none")
        self.assertTrue(cfg["heldout"]["retrain"])
        self.assertEqual(missing_sources(cfg), [])
        ours = {o["key"]: o for o in ours_settings(cfg)}
        self.assertEqual(ours["audio.epochs"]["value"], 70)
        self.assertNotIn("audio.lrMax", ours)                       # report §3.1.2
        # a new hyperparameter without a source is caught
        cfg["audio"]["newKnob"] = 1
        self.assertEqual(missing_sources(cfg), ["audio.newKnob"])

    def test_sources_must_say_report_or_ours(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "c.json"
            p.write_text(json.dumps({"dataset": "d", "workDir": "w", "sources": {"audio.epochs": "we liked it"}}))
            with self.assertRaisesRegex(ValueError, "sources.audio.epochs must read"):
                load_config(p)

    def test_a_copied_config_with_a_relative_dataset_suggests_set_dataset(self):
        from avscene_models.steps.check import check_data
        demo = Path(__file__).resolve().parents[1] / "configs" / "demo.json"
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "demo.json"
            copy.write_text(demo.read_text())
            cfg = load_config(copy)
            with self.assertRaisesRegex(ValueError, r"relative to the config's folder.*--set dataset=") as ctx, \
                    contextlib.redirect_stdout(io.StringIO()):
                check_data(cfg)
            self.assertIn("../../../shared/data/tau-av-2021-sample", str(ctx.exception))
