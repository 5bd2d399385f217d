/**
 * Signed bundles: where a bundle came from, proven with Ed25519.
 *
 * The signature covers the exact bytes of bundle.json, which pins the SHA-256 of every ONNX file, so one signature
 * vouches for the whole bundle. It is stored raw (64 bytes) in `bundle.sig` beside the manifest: what
 * `python3 -m avscene_models sign` writes, and byte for byte what
 * `openssl pkeyutl -sign -rawin -inkey KEY -in bundle.json -out bundle.sig` writes (Ed25519 is deterministic).
 * The daemon verifies it with node:crypto against the PEM public key named by `model.publicKey`.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BundleError } from './bundle-manifest.js';

export const SIGNATURE_FILE = 'bundle.sig';
const ED25519_SIGNATURE_BYTES = 64;

const KEYGEN =
  'Make a key pair with `python3 -m avscene_models keygen --out NAME` (or `openssl genpkey -algorithm ed25519 -out NAME.key && openssl pkey -in NAME.key -pubout -out NAME.pub`) and give model.publicKey the .pub file.';

/** Reads an Ed25519 public key in PEM (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it). */
export async function readPublicKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new BundleError(
      file,
      `model.publicKey cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      KEYGEN,
    );
  }
  // node:crypto would derive the public key from a private one; a signing key has no business on a device.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new BundleError(
      file,
      'is a private key: give the daemon only the public half (the private key stays where bundles are signed)',
      KEYGEN,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new BundleError(file, `is not a PEM public key: ${(err as Error).message}`, KEYGEN);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new BundleError(
      file,
      `is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, bundles are signed with Ed25519`,
      KEYGEN,
    );
  }
  return key;
}

/** Throws BundleError unless `dir`/bundle.sig is a valid signature of `manifestBytes` by `key`. */
export async function verifyManifestSignature(
  dir: string,
  manifestBytes: Buffer,
  key: KeyObject,
  keyFile: string,
): Promise<void> {
  const sigPath = path.join(dir, SIGNATURE_FILE);
  const sign = `Sign it where it was built: python3 -m avscene_models sign ${dir} --key NAME.key (the private key that matches ${keyFile}).`;
  let signature: Buffer;
  try {
    signature = await readFile(sigPath);
  } catch {
    throw new BundleError(sigPath, `is missing: model.publicKey is set, so only signed bundles are accepted`, sign);
  }
  if (signature.length !== ED25519_SIGNATURE_BYTES) {
    throw new BundleError(
      sigPath,
      `is ${signature.length} bytes, an Ed25519 signature is ${ED25519_SIGNATURE_BYTES}`,
      sign,
    );
  }
  if (!verify(null, manifestBytes, key, signature)) {
    throw new BundleError(
      sigPath,
      `does not verify against ${keyFile}: bundle.json was changed after signing, or it was signed with another key`,
      `Install a bundle signed with the private key that matches ${keyFile}, or re-sign this one if you trust it (${sign})`,
    );
  }
}
