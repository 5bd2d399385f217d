"""Bundle signatures: keygen, sign, verify; the same bytes as openssl; corrupt bundles are not signed."""
import json
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from avscene_models.signing import SIGNATURE_FILE, keygen, sign_bundle, verify_bundle

DEMO = Path(__file__).resolve().parents[1] / "bundles" / "demo-audio"


class SigningTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        self.bundle = root / "bundle"
        shutil.copytree(DEMO, self.bundle)
        self.key, self.pub = keygen(root / "release")

    def tearDown(self):
        self.tmp.cleanup()

    def test_keygen_writes_a_private_key_only_its_owner_reads(self):
        self.assertEqual(self.key.stat().st_mode & 0o777, 0o600)
        self.assertIn(b"PUBLIC KEY", self.pub.read_bytes())
        with self.assertRaises(FileExistsError):
            keygen(self.key.with_suffix(""))

    def test_signed_bundle_verifies_and_a_changed_manifest_does_not(self):
        sign_bundle(self.bundle, self.key)
        self.assertEqual(len((self.bundle / SIGNATURE_FILE).read_bytes()), 64)
        self.assertTrue(verify_bundle(self.bundle, self.pub))
        other_key, other_pub = keygen(Path(self.tmp.name) / "other")
        self.assertFalse(verify_bundle(self.bundle, other_pub))
        manifest = json.loads((self.bundle / "bundle.json").read_text())
        manifest["version"] = "9.9.9"
        (self.bundle / "bundle.json").write_text(json.dumps(manifest))
        self.assertFalse(verify_bundle(self.bundle, self.pub))

    def test_signature_is_what_openssl_writes(self):
        sign_bundle(self.bundle, self.key)
        out = Path(self.tmp.name) / "openssl.sig"
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(self.key),
                        "-in", str(self.bundle / "bundle.json"), "-out", str(out)], check=True)
        self.assertEqual(out.read_bytes(), (self.bundle / SIGNATURE_FILE).read_bytes())

    def test_a_corrupt_file_is_not_signed(self):
        onnx = next(self.bundle.glob("*.onnx"))
        with open(onnx, "ab") as f:
            f.write(b"\0")
        with self.assertRaisesRegex(ValueError, "does not match the SHA-256"):
            sign_bundle(self.bundle, self.key)
        self.assertFalse((self.bundle / SIGNATURE_FILE).exists())

    def test_a_non_ed25519_key_is_refused(self):
        rsa = Path(self.tmp.name) / "rsa.key"
        subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(rsa)],
                       check=True, capture_output=True)
        with self.assertRaisesRegex(ValueError, "Ed25519"):
            sign_bundle(self.bundle, rsa)


if __name__ == "__main__":
    unittest.main()
