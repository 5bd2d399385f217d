/**
 * A half-open link (root only): the broker runs in a network namespace behind a veth pair, and the link is
 * blackholed (its far end taken down, no RST, no FIN). The daemon's TCP connection stays "established" until
 * keep-alive gives up; meanwhile every window it cannot get acknowledged must be written ahead to the outbox.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Outbox } from '../../src/publish/outbox.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli, type LogLine } from '../helpers/cli.js';
import { NEEDS_ROOT } from '../helpers/filesystems.js';
import { tempDir } from '../helpers/media.js';
import { netnsLink, type NetnsLink } from '../helpers/netns.js';

const links: NetnsLink[] = [];
after(async () => {
  killAll();
  await Collector.closeAll();
  for (const link of links) link.remove();
});

const scene = (l: LogLine) => typeof l.seq === 'number' && String(l.msg).startsWith('scene ');
/** A mosquitto in its own network namespace, reached through a link the test can blackhole. */
async function brokerBehindLink(index: number) {
  const link = netnsLink(index);
  links.push(link);
  const broker = await startMosquitto(undefined, undefined, { netns: { name: link.name, address: link.nsAddress } });
  return { link, broker };
}

/** The write-ahead delay (1 s) plus the outbox's once-a-second tick, plus scheduling slack on a busy machine. */
const AT_RISK_AFTER_MS = 2500;

test('half-open link, kill -9 after it: nothing captured more than the write-ahead delay before is lost (queued windows included)', {
  skip: NEEDS_ROOT,
}, async () => {
  const { link, broker } = await brokerBehindLink(1);
  const device = 'half-open';
  const stateDir = tempDir();
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/window`);
  // Windows as fast as inference goes, and MQTT 5: mosquitto's receive maximum (20) leaves about ten windows in
  // flight, so windows queue behind them within a second; those are at risk too. Keep-alive 60 s: the link is not
  // declared dead during the test.
  const daemon = startCli(
    daemonArgs(
      broker.url,
      device,
      'audio.loop=true',
      'sources.realtime=false',
      'mqtt.keepaliveS=60',
      'mqtt.protocolVersion=5',
      'log.level=debug',
    ),
    { AVSCENE_STATE_DIR: stateDir },
  );
  try {
    await daemon.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the connection');
    await sub.until((m) => m.length >= 5, 30_000, 'windows delivered before the cut');
    link.blackhole();
    const cutAt = Date.now();
    await daemon.until(
      (lines) => lines.filter((l) => scene(l) && (l.time as number) > cutAt + 6000).length > 0,
      30_000,
      '6 s of windows after the cut',
    );
    daemon.child.kill('SIGKILL');
    const killedAt = Date.now();
    await daemon.exited;
    const delivered = new Set(sub.messages.map((m) => (JSON.parse(m.payload) as { seq: number }).seq));
    const outbox = new Outbox({
      dir: path.join(stateDir, 'mqtt', device, 'outbox'),
      maxBytes: 1 << 26,
      maxAgeMs: 3600_000,
      syncIntervalMs: 5000,
      writeAheadAfterMs: 1000,
    });
    const onDisk = new Set<number>();
    for (let e = outbox.takeNext(); e; e = outbox.takeNext()) onDisk.add(e.seq);
    const windows = daemon.logs().filter(scene);
    const atRisk = windows.filter((l) => (l.time as number) <= killedAt - AT_RISK_AFTER_MS);
    const lost = atRisk.map((l) => l.seq as number).filter((seq) => !delivered.has(seq) && !onDisk.has(seq));
    assert.ok(
      onDisk.size > 30,
      `windows queued behind the ~10 in flight were written ahead too (${onDisk.size} on disk)`,
    );
    assert.deepEqual(
      lost,
      [],
      `lost of ${atRisk.length} windows (${onDisk.size} on disk, ${delivered.size} delivered)`,
    );
    assert.equal(outbox.corrupt, 0);
  } finally {
    await sub.close().catch(() => {});
    await broker.stop();
  }
});

test('half-open link: the keep-alive timeout is reported once as such (not once per window in flight); SIGTERM then exits 0 at once', {
  skip: NEEDS_ROOT,
}, async () => {
  const { link, broker } = await brokerBehindLink(2);
  const device = 'keepalive';
  const daemon = startCli(
    daemonArgs(
      broker.url,
      device,
      'audio.loop=true',
      'sources.realtime=false',
      'mqtt.keepaliveS=2',
      'mqtt.reconnectMaxS=1',
      'log.level=debug',
    ),
  );
  try {
    await daemon.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the connection');
    link.blackhole();
    const timeout = await daemon.untilLog(
      (l) => /keep-alive timeout/.test(String(l.msg)),
      20_000,
      'the keep-alive timeout',
    );
    // Whatever the lost connection makes the daemon log comes with it; ten windows later it has all been said.
    await daemon.until(
      (lines) => lines.filter((l) => scene(l) && (l.time as number) > (timeout.time as number)).length >= 10,
      20_000,
      'ten windows after the timeout',
    );
    const lines = daemon.logs();
    assert.equal(lines.filter((l) => /keep-alive timeout/.test(String(l.msg))).length, 1);
    assert.equal(lines.filter((l) => /refused/.test(String(l.msg))).length, 0, 'no window called refused');
    assert.equal(lines.filter((l) => /connection .* lost/.test(String(l.msg))).length, 0, 'one line for one loss');
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    assert.equal(code, 0, daemon.stderr());
    assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
  } finally {
    await broker.stop();
  }
});
