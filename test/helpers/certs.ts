/** A throw-away PKI made with openssl for the TLS tests: a CA, a broker certificate for 127.0.0.1, client certificates. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: string;
  server: CertPair;
  /** Signed by the CA. */
  client: CertPair;
  /** Self-signed: a broker that requires client certificates from the CA rejects it. */
  stranger: CertPair;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function signed(dir: string, name: string, extensions: string): CertPair {
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

export function makePki(dir: string): TestPki {
  openssl(
    ['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=avscene test CA'],
    dir,
  );
  openssl(
    [
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'stranger.key',
      '-out',
      'stranger.pem',
      '-days',
      '2',
      '-subj',
      '/CN=stranger',
    ],
    dir,
  );
  return {
    ca: path.join(dir, 'ca.pem'),
    server: signed(dir, 'broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: signed(dir, 'device', 'extendedKeyUsage=clientAuth\n'),
    stranger: { cert: path.join(dir, 'stranger.pem'), key: path.join(dir, 'stranger.key') },
  };
}
