/**
 * The daemon under the faults field boards meet (built CLI, demo bundle, real mosquitto, real file systems as root):
 * state.dir on a tmpfs that fills up during an outage, an ext4 card made read-only by an I/O error, SIGTERM after
 * broker restarts. Labelling never stops, the windows reach the broker in order when it is back, stops are clean.
 */
import { test, after } from 'node:test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli, type LogLine, type RunningCli } from '../helpers/cli.js';
import { loopExt4, NEEDS_ROOT, tinyTmpfs, type Mounted } from '../helpers/filesystems.js';

const mounts: Mounted[] = [];
after(async () => {
  killAll();
  await Collector.closeAll();
  for (const m of mounts) m.unmount();
});

const scene = (l: LogLine) => typeof l.seq === 'number' && String(l.msg).startsWith('scene ');
const windowsLogged = (d: RunningCli) => d.logs().filter(scene).length;
const lastSeq = (d: RunningCli) =>
  Math.max(
    ...d
      .logs()
      .filter(scene)
      .map((l) => l.seq as number),
  );

test('SIGTERM after two broker restarts: exit 0 within 3 s', async () => {
  const broker = await startMosquitto();
  const daemon = startCli(daemonArgs(broker.url, 'restarts', 'audio.loop=true', 'mqtt.reconnectMaxS=1'));
  let current = broker;
  try {
    await daemon.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the first connection');
    for (let i = 1; i <= 2; i++) {
      await current.stop();
      current = await startMosquitto(broker.port, broker.dataDir);
      await daemon.until(
        (lines) => lines.filter((l) => l.msg === 'MQTT reconnected' || /is back/.test(String(l.msg))).length >= i,
        30_000,
        `reconnection ${i}`,
      );
    }
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    const ms = Date.now() - t0;
    assert.equal(code, 0, daemon.stderr() + JSON.stringify(daemon.logs().slice(-5)));
    assert.ok(ms < 3000, `stopped in ${ms} ms`);
    assert.equal(
      daemon.logs().filter((l) => /another client with device\.id/.test(String(l.msg))).length,
      0,
      'broker restarts are not taken for a clone of this device',
    );
  } finally {
    await current.stop();
  }
});

/**
 * The broker goes away, state.dir fills up (or turns read-only): the daemon labels on, says so once with the fix,
 * reports it (health), and delivers every window in seq order once the broker is back; SIGTERM then exits 0.
 */
async function outageOnFailingCard(fs: Mounted, fault: () => void, code: string, device: string): Promise<void> {
  mounts.push(fs);
  // As an earlier outage leaves it (on ext4 in its error state, creating a folder answers ENOENT, not EROFS).
  mkdirSync(path.join(fs.dir, 'mqtt', device, 'outbox'), { recursive: true });
  const broker = await startMosquitto();
  const history = await Collector.subscribe(broker.url, `avscene/${device}/window`, `${device}-history`);
  const daemon = startCli(
    daemonArgs(broker.url, device, 'audio.loop=true', 'mqtt.reconnectMaxS=1', 'log.level=debug'),
    {
      AVSCENE_STATE_DIR: fs.dir,
    },
  );
  let back: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    await daemon.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the first connection');
    await broker.stop();
    await daemon.untilLog(
      (l) => /connection .* lost|stopped answering/.test(String(l.msg)),
      30_000,
      'the outage noticed',
    );
    fault();
    const atFault = windowsLogged(daemon);
    const error = await daemon.untilLog(
      (l) => /state\.dir cannot be written/.test(String(l.msg)),
      30_000,
      'the storage fault reported',
    );
    assert.equal(error.code, code);
    await daemon.until((lines) => lines.filter(scene).length >= atFault + 5, 30_000, 'labelling going on');
    assert.equal(daemon.logs().filter((l) => /inference failed|failed$/.test(String(l.msg))).length, 0);
    back = await startMosquitto(broker.port, broker.dataDir);
    const total = lastSeq(daemon) + 1;
    await history.until((m) => m.length >= total, 30_000, `${total} windows`);
    const seqs = history.messages.map((m) => (JSON.parse(m.payload) as { seq: number }).seq);
    assert.deepEqual(
      seqs.slice(0, total),
      Array.from({ length: total }, (_, i) => i),
      'every window, once, in order',
    );
    assert.equal(
      daemon.logs().filter((l) => /state\.dir cannot be written/.test(String(l.msg))).length,
      1,
      'the fault is logged once',
    );
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    const { code: exit } = await daemon.exited;
    assert.equal(exit, 0, daemon.stderr());
    const stopMs = Date.now() - t0;
    assert.ok(
      stopMs < 3000,
      `a clean stop on a failing card too (${stopMs} ms): ${JSON.stringify(
        daemon
          .logs()
          .filter((l) => !scene(l))
          .slice(-8),
      )}`,
    );
    // The report made at stop, retained by the broker.
    const retained = await Collector.subscribe((back ?? broker).url, `avscene/${device}/health`);
    await retained.until((m) => m.length >= 1, 5000, 'the retained health report');
    const last = JSON.parse(retained.messages[0]!.payload) as Record<string, unknown>;
    await retained.close();
    assert.equal(last.stateDirWritable, 0, 'health says state.dir is not writable');
    assert.ok((last.stateDirFailedWrites as number) >= 1);
  } finally {
    await history.close();
    await (back ?? broker).stop();
  }
}

test('state.dir on a tmpfs that fills up during an outage: labelling goes on, every window delivered in order when the broker is back', {
  skip: NEEDS_ROOT,
}, async () => {
  const fs = tinyTmpfs(256);
  await outageOnFailingCard(fs, () => fs.fill(), 'ENOSPC', 'full-card');
});

test('state.dir on ext4 made read-only by an I/O error during an outage: labelling goes on, every window delivered in order', {
  skip: NEEDS_ROOT,
}, async () => {
  const card = loopExt4(8);
  await outageOnFailingCard(card, () => card.forceError(), 'EROFS', 'ro-card');
});
