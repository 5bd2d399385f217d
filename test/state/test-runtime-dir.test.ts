/**
 * Test hygiene: the RAM records (window counter, acknowledged seq) of the daemons and stores a test process starts lie
 * in that process's own tmpfs folder, which is gone once it exits; nothing piles up in /dev/shm/avscene-UID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';

test("a test process's RAM records lie in its own tmpfs folder, removed when it exits", {
  skip: os.platform() !== 'linux' ? 'Linux only (/dev/shm)' : false,
}, () => {
  const stateDir = tempDir('avscene-runtime-');
  // A child test process: its own folder, a window counter in it, then a normal exit.
  const script = `
    import { ownRuntimeDir } from './test/helpers/runtime-dir.ts';
    import { SeqStore } from './src/state/seq-store.ts';
    import { runtimeDirFor } from './src/state/runtime-file.ts';
    import { createLogger } from './src/log/logger.ts';
    const own = ownRuntimeDir();
    new SeqStore(${JSON.stringify(stateDir)}, 'hygiene', createLogger('silent')).next();
    console.log(JSON.stringify({ own, record: runtimeDirFor(${JSON.stringify(stateDir)}) }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, RUNTIME_DIRECTORY: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  const { own, record } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { own: string; record: string };
  assert.ok(own.startsWith('/dev/shm/avscene-test-'), own);
  assert.equal(path.dirname(record), own, 'the record was written in the folder of the test process');
  assert.ok(!existsSync(own), `${own} is removed at exit`);
  assert.ok(!existsSync(record), 'and the record with it');
});
