/**
 * The publisher, not only the outbox, keeps its durability promises: windows published while the broker is
 * unreachable are on disk at once (a SIGKILL right after keeps them, before any timer fires); nothing is written while
 * a broker acknowledges; a clean stop fdatasyncs what was appended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createLogger } from '../../src/log/logger.js';
import { MqttPublisher } from '../../src/publish/mqtt-publisher.js';
import { Outbox } from '../../src/publish/outbox.js';
import { tempDir } from '../helpers/media.js';
import { drainOutbox, scenePayload } from '../helpers/outbox.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const outboxAt = (dir: string) =>
  new Outbox({ dir, maxBytes: 1 << 24, maxAgeMs: 3600_000, syncIntervalMs: 60_000, writeAheadAfterMs: 1000 });

function publisherFor(url: string, outbox: Outbox): MqttPublisher {
  return new MqttPublisher({
    url,
    deviceId: 'dev',
    topicPrefix: 'avscene',
    outbox,
    logger: createLogger('silent'),
    reconnectMaxMs: 400,
  });
}

const drainSeqs = (outbox: Outbox) => drainOutbox(outbox).map((e) => e.seq);

test('broker unreachable: each published window is on disk at once; a SIGKILL right after (no timer ran) keeps them all', async () => {
  const dir = tempDir();
  const port = await freePort(); // nothing listens there
  const script = `
    import { MqttPublisher } from './src/publish/mqtt-publisher.ts';
    import { Outbox } from './src/publish/outbox.ts';
    import { createLogger } from './src/log/logger.ts';
    const outbox = new Outbox({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 24, maxAgeMs: 3600000, syncIntervalMs: 60000, writeAheadAfterMs: 1000 });
    const pub = new MqttPublisher({ url: 'mqtt://127.0.0.1:${port}', deviceId: 'dev', topicPrefix: 'avscene', outbox, logger: createLogger('silent') });
    const scene = (seq) => ({ label: 'park', confidence: 0.9, probs: { park: 0.9 }, seq, device: 'dev',
      window: { start: new Date().toISOString(), end: new Date().toISOString() }, modalities: ['audio'], degraded: false,
      model: { name: 'm', version: '1' }, latencyMs: 1 });
    for (let seq = 0; seq < 25; seq++) pub.publishWindow(scene(seq));
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.deepEqual(
    drainSeqs(outboxAt(dir)),
    Array.from({ length: 25 }, (_, i) => i),
  );
});

test('broker acknowledging: 300 windows, not one outbox write or fsync', async () => {
  const broker = await startMosquitto();
  const outbox = outboxAt(tempDir());
  const pub = publisherFor(broker.url, outbox);
  try {
    await waitFor(() => pub.connected, 10_000, 'the connection');
    for (let seq = 0; seq < 300; seq++) {
      pub.publishWindow(scenePayload(seq));
      if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => pub.stats().queued === 0, 10_000, 'every window acknowledged');
    const io = pub.stats().outboxIo;
    assert.equal(io.writes, 0);
    assert.equal(io.fsyncs, 0);
  } finally {
    await pub.close(500);
    await broker.stop();
  }
});

test('a clean stop during an outage fdatasyncs what was appended (not left to the next sync interval)', async () => {
  const outbox = outboxAt(tempDir());
  const pub = publisherFor(`mqtt://127.0.0.1:${await freePort()}`, outbox);
  for (let seq = 0; seq < 5; seq++) pub.publishWindow(scenePayload(seq));
  const before = pub.stats().outboxIo;
  assert.equal(before.writes, 5, 'one append per window');
  assert.equal(before.fsyncs, before.segmentsCreated, 'only the directory sync of the new segment so far');
  await pub.close(300);
  assert.equal(outbox.io.fsyncs, before.fsyncs + 1, 'one fdatasync at stop');
});
