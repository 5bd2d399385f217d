"""Bundle writer: pruning, shared backbones, hashes, manifest; ONNX parity through onnxruntime-node."""
import hashlib
import json
import shutil
import tempfile
import unittest
from pathlib import Path

import torch

from avscene_models import TAU_CLASSES
from avscene_models.export import AudioNetSpec, BundleError, HeadSpec, ImageNetSpec, write_bundle
from avscene_models.nets import AudioHead, FusionHead, ImageEmbedder, ImageHead, build_audio_net, preprocess_for

NODE_READY = shutil.which("node") and (Path(__file__).resolve().parents[2] / "node_modules" / "onnxruntime-node").is_dir()


class BundleTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.tmp = tempfile.TemporaryDirectory()
        self.out = Path(self.tmp.name) / "b"
        c = len(TAU_CLASSES)
        self.logmel = build_audio_net("resnet1d", 256, width=0.5, fc=(16, 8, 8))
        self.bark = build_audio_net("dcnn", 256, width=0.5, fc=(16, 8, 8))
        self.image = ImageEmbedder("mobilenet_v3_small")
        self.audio_nets = {"logmel-resnet1d": AudioNetSpec(self.logmel, "resnet1d", "logmel"),
                           "bark-dcnn": AudioNetSpec(self.bark, "dcnn", "bark")}
        self.image_nets = {"mnv3": ImageNetSpec(self.image, "mobilenet_v3_small", preprocess_for("mobilenet_v3_small", 64))}
        head = AudioHead(8, c)
        head.set_temperature(1.7)
        self.heads = {
            "logmel-audio": HeadSpec(head, audio_net="logmel-resnet1d", metrics={"logLoss": 1.0, "accuracy": 0.5}),
            "bark-audio": HeadSpec(AudioHead(8, c), audio_net="bark-dcnn"),
            "mnv3-image": HeadSpec(ImageHead(576, c), image_net="mnv3"),
            "mnv3-logmel": HeadSpec(FusionHead(8, 576, c, hidden=(8, 8)), audio_net="logmel-resnet1d", image_net="mnv3"),
        }

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, weights, **kw):
        return write_bundle(self.out, name="t", classes=list(TAU_CLASSES), audio_nets=self.audio_nets,
                            image_nets=self.image_nets, heads=self.heads, weights=weights,
                            parity=kw.pop("parity", False), **kw)

    def test_prunes_zero_weight_heads_and_their_nets(self):
        m = self.write({"mnv3-logmel": 0.7, "logmel-audio": 0.3, "bark-audio": 0.0, "mnv3-image": 0.0})
        self.assertEqual(set(m["heads"]), {"mnv3-logmel", "logmel-audio"})
        self.assertEqual(set(m["audioNets"]), {"logmel-resnet1d"})      # bark-dcnn only served a zero-weight head
        self.assertEqual(set(m["imageNets"]), {"mnv3"})
        self.assertEqual(m["decision"]["weights"], {"mnv3-logmel": 0.7, "logmel-audio": 0.3})
        self.assertEqual(sorted(p.name for p in self.out.glob("*.onnx")),
                         ["audio-logmel-resnet1d.onnx", "head-logmel-audio.onnx", "head-mnv3-logmel.onnx", "image-mnv3.onnx"])

    def test_fallback_keeps_its_heads_and_a_shared_backbone_is_exported_once(self):
        m = self.write({"mnv3-logmel": 1.0}, fallback={"audio": {"logmel-audio": 1.0}, "image": {"mnv3-image": 1.0}})
        self.assertEqual(set(m["heads"]), {"mnv3-logmel", "logmel-audio", "mnv3-image"})
        self.assertEqual(len(list(self.out.glob("audio-*.onnx"))), 1)
        self.assertEqual(len(list(self.out.glob("image-*.onnx"))), 1)

    def test_manifest_matches_files_and_bundle_md(self):
        m = self.write({"logmel-audio": 1.0}, untrained_classes=["tram"], metrics={"split": "x"})
        on_disk = json.loads((self.out / "bundle.json").read_text())
        self.assertEqual(on_disk, m)
        for key in ("format", "formatVersion", "featureSpec", "sampleRate", "windowSeconds", "framesPerWindow"):
            self.assertIn(key, m)
        self.assertEqual((m["sampleRate"], m["framesPerWindow"], m["untrainedClasses"]), (48000, 6, ["tram"]))
        net = m["audioNets"]["logmel-resnet1d"]
        self.assertEqual(net["input"], {"name": "features", "shape": [-1, 2, 256]})
        self.assertEqual(net["output"], {"name": "embedding", "shape": [-1, 8]})
        head = m["heads"]["logmel-audio"]
        self.assertEqual(head["inputs"], {"audio": {"name": "audio", "shape": [-1, 6, 8]}})
        self.assertEqual(head["output"], {"name": "probs", "shape": [-1, 10]})
        self.assertAlmostEqual(head["temperature"], 1.7, places=5)
        for entry in list(m["audioNets"].values()) + list(m["heads"].values()):
            self.assertEqual(entry["sha256"], hashlib.sha256((self.out / entry["file"]).read_bytes()).hexdigest())

    def test_onnx_graph_io(self):
        import onnx
        self.write({"mnv3-logmel": 1.0})
        g = onnx.load(str(self.out / "head-mnv3-logmel.onnx")).graph
        self.assertEqual([i.name for i in g.input], ["audio", "image"])
        self.assertEqual(g.input[0].type.tensor_type.shape.dim[0].dim_param, "batch")
        self.assertEqual([o.name for o in g.output], ["probs"])

    def test_bad_requests(self):
        with self.assertRaisesRegex(BundleError, "every decision weight is 0"):
            self.write({"logmel-audio": 0.0})
        with self.assertRaisesRegex(BundleError, "not given"):
            self.write({"nope": 1.0})
        with self.assertRaisesRegex(BundleError, "must match"):
            write_bundle(self.out, name="Bad Name", classes=list(TAU_CLASSES), audio_nets={}, image_nets={},
                         heads={}, weights={})

    @unittest.skipUnless(NODE_READY, "node + onnxruntime-node (npm ci at the repository root) needed for parity")
    def test_parity_recorded(self):
        m = self.write({"mnv3-logmel": 1.0}, fallback={"audio": {"logmel-audio": 1.0}}, parity=True)
        diffs = m["provenance"]["parity"]["maxAbsDiff"]
        self.assertEqual(set(diffs), {e["file"] for t in ("audioNets", "imageNets", "heads") for e in m[t].values()})
        self.assertLess(max(diffs.values()), 1e-4)


if __name__ == "__main__":
    unittest.main()
