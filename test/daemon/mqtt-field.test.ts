/**
 * The daemon's MQTT in field conditions, end to end (built CLI, demo bundle, real mosquitto): an outage with a
 * restart and a SIGKILL inside it, the last-will race after a quick reboot, capture that does not wait for the
 * broker, and Home Assistant discovery including the removal of entities.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, runCli, startCli, type LogLine, type RunningCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';

after(async () => {
  killAll();
  await Collector.closeAll();
});

interface Window {
  seq: number;
  window: { start: string; end: string };
}

const windowLogged = (minSeq: number) => (l: LogLine) =>
  typeof l.seq === 'number' && l.seq >= minSeq && String(l.msg).startsWith('scene ');
const lastSeqLogged = (daemon: RunningCli) =>
  Math.max(
    ...daemon
      .logs()
      .filter(windowLogged(0))
      .map((l) => l.seq as number),
  );

test('an outage with a SIGTERM restart and a SIGKILL inside it: every seq arrives once, in order; the retained scene is the newest', async () => {
  const broker = await startMosquitto();
  const device = 'outage';
  const env = { AVSCENE_STATE_DIR: tempDir() };
  const args = (...settings: string[]) =>
    daemonArgs(broker.url, device, 'mqtt.reconnectMaxS=1', 'log.level=debug', ...settings);
  // A history tool with a persistent session: the broker keeps its subscription while it is down.
  const history = await Collector.subscribe(broker.url, `avscene/${device}/window`, 'outage-history');
  await broker.stop();

  const first = startCli(args('audio.loop=true'), env);
  await first.untilLog(windowLogged(2), 30_000, 'three windows during the outage');
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0, first.stderr());
  const afterFirst = lastSeqLogged(first);

  const second = startCli(args('audio.loop=true'), env);
  await second.untilLog(windowLogged(afterFirst + 3), 30_000, 'three more windows after the restart');
  second.child.kill('SIGKILL');
  await second.exited;
  const afterSecond = lastSeqLogged(second);
  assert.equal(second.logs().filter(windowLogged(0))[0]!.seq, afterFirst + 1, 'the count continues after a clean stop');

  const back = await startMosquitto(broker.port, broker.dataDir);
  const brokerBackAt = Date.now();
  try {
    const third = startCli(args('sources.realtime=false'), env);
    assert.equal((await third.exited).code, 0, third.stderr());
    assert.equal(third.logs().filter(windowLogged(0))[0]!.seq, afterSecond + 1, 'the count continues after SIGKILL');
    const total = lastSeqLogged(third) + 1;
    assert.equal(total, afterSecond + 1 + 10, 'the third run classified the 10-s demo clip');
    await history.until((m) => m.length >= total, 20_000, `${total} windows`);
    const windows = history.messages.map((m) => JSON.parse(m.payload) as Window);
    assert.deepEqual(
      windows.map((w) => w.seq),
      Array.from({ length: total }, (_, i) => i),
      'every seq once, in order',
    );
    assert.ok(
      windows.slice(0, afterSecond + 1).every((w) => Date.parse(w.window.end) < brokerBackAt),
      'backlog windows keep their capture time',
    );

    const late = await Collector.subscribe(back.url, `avscene/${device}/scene`);
    await late.until((m) => m.length >= 1, 5000, 'the retained scene');
    assert.equal(
      (JSON.parse(late.messages[0]!.payload) as Window).seq,
      total - 1,
      'the retained scene is the newest window',
    );
    await late.close();
  } finally {
    await history.close();
    await back.stop();
  }
});

test('last-will race, same client id: the open connection of a frozen daemon is replaced at once by the next one; the retained status says online past the keep-alive', async () => {
  const broker = await startMosquitto();
  const device = 'race';
  const keepaliveS = 3;
  const args = daemonArgs(broker.url, device, 'audio.loop=true', `mqtt.keepaliveS=${keepaliveS}`);
  const status = await Collector.subscribe(broker.url, `avscene/${device}/status`);
  const frozen = startCli(args);
  try {
    await status.until((m) => m.some((x) => x.payload === 'online'), 30_000, 'the first daemon online');
    frozen.child.kill('SIGSTOP'); // its TCP connection stays open (a board that lost power looks the same to the broker)
    const fresh = startCli(args);
    await fresh.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the new daemon connected');
    const connectedAt = Date.now();
    // The frozen connection's last will comes when the broker drops it: at once, as the new one takes its client id.
    await status.until((m) => m.some((x) => x.payload === 'offline'), 15_000, 'the last will of the frozen connection');
    const willAfterMs = Date.now() - connectedAt;
    assert.ok(willAfterMs < keepaliveS * 1000, `replaced at once, not at the keep-alive (${willAfterMs} ms)`);
    await status.until(
      () => Date.now() - connectedAt > keepaliveS * 1500 + 500,
      10_000,
      'the keep-alive deadline to pass',
    );
    await expectRetainedStatus(broker.url, device, 'online');
    fresh.child.kill('SIGTERM');
    await fresh.exited;
  } finally {
    frozen.child.kill('SIGKILL');
    await status.close();
    await broker.stop();
  }
});

test('last-will race, a stale will after our online (another client id, as a previous version had): online is re-asserted', async () => {
  const broker = await startMosquitto();
  const device = 'race-late';
  const keepaliveS = 2;
  const args = daemonArgs(broker.url, device, 'audio.loop=true', `mqtt.keepaliveS=${keepaliveS}`);
  const status = await Collector.subscribe(broker.url, `avscene/${device}/status`);
  const stale = startCli([...args, '--set', `mqtt.clientId=avscene-${device}-4711`]);
  const current = startCli(args);
  try {
    await stale.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the stale daemon connected');
    await current.untilLog((l) => l.msg === 'MQTT connected', 30_000, 'the current daemon connected');
    const onlineCount = status.messages.filter((m) => m.payload === 'online').length;
    stale.child.kill('SIGSTOP'); // the broker publishes its will 1.5 keep-alives later, after the current daemon's online
    await status.until((m) => m.some((x) => x.payload === 'offline'), 15_000, 'the stale last will');
    await status.until(
      (m) => m.at(-1)?.payload === 'online' && m.filter((x) => x.payload === 'online').length > onlineCount,
      5000,
      'online re-asserted',
    );
    await expectRetainedStatus(broker.url, device, 'online');
    assert.ok(current.logs().some((l) => /online re-asserted/.test(String(l.msg))));
    current.child.kill('SIGTERM');
    await current.exited;
  } finally {
    stale.child.kill('SIGKILL');
    await status.close();
    await broker.stop();
  }
});

async function expectRetainedStatus(url: string, device: string, expected: string): Promise<void> {
  const retained = await Collector.subscribe(url, `avscene/${device}/status`);
  await retained.until((m) => m.length >= 1, 5000, 'the retained status');
  assert.equal(retained.messages[0]!.payload, expected);
  await retained.close();
}

test('capture starts at once: windows are classified while the broker has not answered the connection', async () => {
  // A broker that accepts the TCP connection and never answers (half-dead network path).
  let acceptedAt = 0;
  const silent = net.createServer((socket) => {
    acceptedAt ||= Date.now();
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const daemon = startCli(
      daemonArgs(`mqtt://127.0.0.1:${port}`, 'no-answer', 'sources.realtime=false', 'log.level=debug'),
    );
    assert.equal((await daemon.exited).code, 0, daemon.stderr());
    assert.equal(daemon.logs().filter(windowLogged(0)).length, 10);
    assert.ok(acceptedAt > 0, 'the daemon had opened its broker connection');
    // The previous daemon waited up to 5 s for a CONNACK before it said it was running and began to capture; now only
    // synchronous set-up lies between opening the connection and capturing (no model loading, no inference).
    const running = daemon.logs().find((l) => l.msg === 'avscene running')!;
    const waited = (running.time as number) - acceptedAt;
    assert.ok(waited < 2500, `running ${waited} ms after the broker connection was opened`);
    const firstWindow = daemon.logs().findIndex(windowLogged(0));
    assert.ok(daemon.logs().findIndex((l) => l.msg === 'avscene running') < firstWindow);
    assert.ok(daemon.logs().some((l) => /kept in the outbox and sent after the next start/.test(String(l.msg))));
  } finally {
    silent.close();
  }
});

test('Home Assistant discovery: current entities announced; a changed device.id clears every retained topic of the old id, discovery turned off removes the entities, `avscene forget` clears a retired device', async () => {
  const broker = await startMosquitto();
  const state = { AVSCENE_STATE_DIR: tempDir() };
  const run = async (device: string, ...settings: string[]) => {
    const daemon = startCli(daemonArgs(broker.url, device, 'sources.realtime=false', ...settings), state);
    assert.equal((await daemon.exited).code, 0, daemon.stderr());
  };
  /** The retained messages on the broker now under `filter` (as `mosquitto_sub --retained-only` lists them). */
  const retained = async (filter: string, barrier: string): Promise<Map<string, string>> => {
    const sub = await Collector.subscribe(broker.url, filter);
    await sub.barrier(barrier);
    await sub.close();
    return new Map(sub.messages.filter((m) => m.retain && m.payload !== '').map((m) => [m.topic, m.payload]));
  };
  const retainedConfigs = async () =>
    new Map(
      [...(await retained('homeassistant/sensor/+/+/config', 'homeassistant/sensor/test-barrier/none/config'))].map(
        ([topic, payload]) => [topic, JSON.parse(payload) as Record<string, unknown>],
      ),
    );
  const deviceTopics = (device: string) => retained(`avscene/${device}/+`, `avscene/${device}/test-barrier`);
  try {
    await run('ha-kitchen');
    const first = await retainedConfigs();
    const entities = [...first.keys()].map((t) => t.split('/')[3]);
    assert.deepEqual(entities.filter((e) => !e!.startsWith('prob_')).sort(), [
      'bundle',
      'confidence',
      'dropped',
      'latency',
      'queued',
      'scene',
    ]);
    assert.equal(entities.filter((e) => e!.startsWith('prob_')).length, 10, 'one probability sensor per class');
    const scene = first.get('homeassistant/sensor/avscene_ha-kitchen/scene/config')!;
    assert.equal(scene.default_entity_id, 'sensor.avscene_ha_kitchen_scene');
    assert.equal(scene.expire_after, 30);
    assert.equal((scene.origin as { name: string }).name, 'avscene');
    assert.equal(
      (scene.device as { configuration_url?: string }).configuration_url,
      undefined,
      'no link to a status page on loopback',
    );
    assert.equal([...first.values()].filter((c) => c.entity_category === 'diagnostic').length, 4);
    assert.deepEqual(
      [...(await deviceTopics('ha-kitchen')).keys()].sort(),
      ['health', 'info', 'label', 'scene', 'status'].map((t) => `avscene/ha-kitchen/${t}`),
    );

    await run('ha-hall');
    const second = await retainedConfigs();
    assert.equal(second.size, 16);
    assert.ok(
      [...second.keys()].every((t) => t.includes('avscene_ha-hall/')),
      `old device's entities removed: ${[...second.keys()].join(' ')}`,
    );
    assert.deepEqual([...(await deviceTopics('ha-kitchen')).keys()], [], 'no retained topic of the old device.id');
    assert.equal((await deviceTopics('ha-hall')).size, 5);

    await run('ha-hall', 'mqtt.homeAssistant=false');
    assert.deepEqual([...(await retainedConfigs()).keys()], [], 'discovery off: every entity removed');

    // ha-hall is retired (its state.dir gone with the device): forget it from another machine.
    await run('ha-hall');
    assert.equal((await retainedConfigs()).size, 16);
    const forget = runCli(['forget', 'ha-hall', '--set', `mqtt.url=${broker.url}`]);
    assert.equal(forget.status, 0, forget.stderr);
    assert.equal(forget.stdout.trim().split('\n').length, 21, forget.stdout);
    assert.match(forget.stderr, /forgot ha-hall: 21 retained topic\(s\) cleared/);
    assert.deepEqual([...(await deviceTopics('ha-hall')).keys()], [], 'forget: no retained topic of the device');
    assert.deepEqual([...(await retainedConfigs()).keys()], [], 'forget: no Home Assistant entity');
  } finally {
    await broker.stop();
  }
});

test('`avscene forget` refuses a device that says online (it would publish again) unless --force', async () => {
  const broker = await startMosquitto();
  const daemon = startCli(daemonArgs(broker.url, 'still-here', 'audio.loop=true'));
  try {
    const sub = await Collector.subscribe(broker.url, 'avscene/still-here/status');
    await sub.until((m) => m.some((x) => x.payload === 'online'), 60_000, 'online');
    await sub.close();
    const refused = runCli(['forget', 'still-here', '--set', `mqtt.url=${broker.url}`]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /device still-here says online .*stop it .* or use --force/);
    assert.equal(refused.stdout, '');
  } finally {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await broker.stop();
  }
});
