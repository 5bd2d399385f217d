/**
 * MQTT publishing benchmark (not a test; BENCHMARKS.md § MQTT):
 *  1. disk writes of the outbox and the window counter, with the real Outbox and SeqStore on a real directory and a
 *     simulated clock: a day connected (every window acknowledged within 20 ms) and an hour of broker outage (then the
 *     backlog acknowledged). Counted by the code itself (write(2) calls and bytes, fsync/fdatasync calls), and the
 *     bytes the kernel accounts to this process for storage (/proc/self/io write_bytes) as a cross-check;
 *  2. messages per second the publisher sustains to a local mosquitto (QoS 1, acknowledged): live windows published
 *     as fast as possible, and a backlog drained after an outage; MQTT 3.1.1 and 5.
 *
 *   node --import tsx test/bench/mqtt.bench.ts [--windows 20000]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { MqttPublisher } from '../../src/publish/mqtt-publisher.js';
import { Outbox } from '../../src/publish/outbox.js';
import { windowJson, type ScenePayload } from '../../src/publish/payload.js';
import { atomicFileIo } from '../../src/state/atomic-file.js';
import { SeqStore } from '../../src/state/seq-store.js';
import { tempDir } from '../helpers/media.js';
import { ownRuntimeDir } from '../helpers/runtime-dir.js';
import { startMosquitto } from '../helpers/mosquitto.js';

ownRuntimeDir(); // the window counter's RAM record is removed with it

const { values } = parseArgs({ options: { windows: { type: 'string', default: '20000' } } });
const WINDOWS = Number(values.windows);
const quiet = pino({ level: 'silent' });
const TOPIC = 'avscene/lobby-east/window';
const CLASSES = [
  'airport',
  'bus',
  'metro',
  'metro_station',
  'park',
  'public_square',
  'shopping_mall',
  'street_pedestrian',
  'street_traffic',
  'tram',
];

/** A window as the demo bundle publishes it (10 classes, six decimals). */
function window(seq: number, t: number): ScenePayload {
  const probs = Object.fromEntries(CLASSES.map((c, i) => [c, Math.round(((i + seq) % 10) * 0.0181818 * 1e6) / 1e6]));
  return {
    label: 'park',
    confidence: 0.163636,
    probs,
    seq,
    device: 'lobby-east',
    window: { start: new Date(t).toISOString(), end: new Date(t + 1000).toISOString() },
    modalities: ['audio', 'image'],
    degraded: false,
    model: { name: 'demo-audio', version: '1.0.0' },
    latencyMs: 84,
  };
}

function storageBytes(): number {
  return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

function outboxAt(dir: string, clock: { t: number }): Outbox {
  return new Outbox({
    dir,
    maxBytes: 48 * 2 ** 20,
    maxAgeMs: 24 * 3600_000,
    syncIntervalMs: 5000,
    writeAheadAfterMs: 1000,
    now: () => clock.t,
  });
}

function diskFigures(): void {
  const t0 = Date.UTC(2026, 11, 1);
  // A day connected: each window is sent at once and acknowledged 20 ms later; ticks every second.
  {
    const dir = tempDir();
    const clock = { t: t0 };
    const outbox = outboxAt(`${dir}/outbox`, clock);
    const seq = new SeqStore(dir, 'lobby-east', quiet, 600);
    const fsyncs0 = atomicFileIo.fsyncs;
    const storage0 = storageBytes();
    for (let i = 0; i < 86_400; i++) {
      const n = seq.next();
      outbox.push(n, TOPIC, windowJson(window(n, clock.t)), clock.t, false);
      const entry = outbox.takeNext()!;
      clock.t += 20;
      outbox.ack(entry);
      clock.t += 980;
      outbox.tick();
    }
    const seqFsyncs = atomicFileIo.fsyncs - fsyncs0;
    console.log(
      `day connected (86,400 windows): outbox ${outbox.io.writes} writes, ${outbox.io.bytesWritten} B, ${outbox.io.fsyncs} fsyncs; ` +
        `window counter ${seqFsyncs / 2} reservations (${seqFsyncs} fsyncs, ~40 B each); /proc/self/io write_bytes +${storageBytes() - storage0} B`,
    );
  }
  // An hour of outage: each window appended at once (no connection), fdatasync every 5 s; then the backlog is sent.
  {
    const dir = tempDir();
    const clock = { t: t0 };
    const outbox = outboxAt(dir, clock);
    const storage0 = storageBytes();
    for (let n = 0; n < 3600; n++) {
      outbox.push(n, TOPIC, windowJson(window(n, clock.t)), clock.t, true);
      clock.t += 1000;
      outbox.tick();
    }
    const during = { ...outbox.io, storage: storageBytes() - storage0, files: readdirSync(dir).length };
    for (let entry = outbox.takeNext(); entry; entry = outbox.takeNext()) outbox.ack(entry);
    console.log(
      `hour of outage (3,600 windows): ${during.writes} writes, ${during.bytesWritten} B (${(during.bytesWritten / 3600).toFixed(0)} B per window), ` +
        `${during.fsyncs} fsyncs (${during.segmentsCreated} of them for new segment files), ${during.files} segment files; ` +
        `/proc/self/io write_bytes +${during.storage} B; after the backlog is acknowledged: ${outbox.io.segmentsDeleted} segments deleted, ${readdirSync(dir).length} left`,
    );
  }
}

async function throughput(protocolVersion: '3.1.1' | '5'): Promise<void> {
  const broker = await startMosquitto();
  const make = () =>
    new MqttPublisher({
      url: broker.url,
      deviceId: `bench-${protocolVersion}`,
      topicPrefix: 'avscene',
      logger: quiet,
      protocolVersion,
      windowExpiryS: 3600,
      outbox: new Outbox({
        dir: tempDir(),
        maxBytes: 256 * 2 ** 20,
        maxAgeMs: 24 * 3600_000,
        syncIntervalMs: 5000,
        writeAheadAfterMs: 1000,
      }),
    });
  const drained = async (p: MqttPublisher) => {
    while (p.stats().queued > 0) await new Promise((r) => setTimeout(r, 2));
  };
  const connected = async (p: MqttPublisher) => {
    while (!p.connected) await new Promise((r) => setTimeout(r, 5));
  };
  // Live: windows published as fast as possible while connected, every one acknowledged.
  const live = make();
  await connected(live);
  let t = Date.now();
  for (let n = 0; n < WINDOWS; n++) live.publishWindow(window(n, t));
  await drained(live);
  const liveRate = WINDOWS / ((Date.now() - t) / 1000);
  const liveIo = live.stats().outboxIo;
  await live.close(1000);
  // Backlog: windows queued while the broker is down, then sent when it is back.
  await broker.stop();
  const backlog = make();
  for (let n = 0; n < WINDOWS; n++) backlog.publishWindow(window(n, Date.now()));
  const back = await startMosquitto(broker.port, broker.dataDir);
  await connected(backlog);
  t = Date.now();
  await drained(backlog);
  const drainRate = WINDOWS / ((Date.now() - t) / 1000);
  await backlog.close(1000);
  await back.stop();
  console.log(
    `MQTT ${protocolVersion} to a local mosquitto, QoS 1: live ${liveRate.toFixed(0)} windows/s (each also retained scene + label; ` +
      `outbox writes meanwhile: ${liveIo.writes}), backlog drain ${drainRate.toFixed(0)} windows/s (${WINDOWS} windows)`,
  );
}

diskFigures();
await throughput('3.1.1');
await throughput('5');
