/** How the toolkit tests run the Debian Python that has torch: /usr/bin/python3 in models/, one torch thread. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

export const PYTHON = '/usr/bin/python3';
export const MODELS = path.join(REPO_ROOT, 'models');
export const pyEnv = { ...process.env, PYTHONPATH: MODELS, AVSCENE_TORCH_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
export const NO_PYTHON = existsSync(PYTHON)
  ? undefined
  : `${PYTHON} not found (Debian python3 with python3-torch is needed)`;

export function python(args: string[], timeoutMs: number) {
  const r = spawnSync(PYTHON, args, {
    cwd: MODELS,
    env: pyEnv,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}
