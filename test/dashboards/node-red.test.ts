/**
 * The shipped Node-RED flow (deploy/node-red/avscene-flow.json) in a real Node-RED against the running daemon and a
 * real mosquitto: a dashboard author imports it, points its broker node at the broker, and wires the "avscene windows"
 * output to whatever they chart or store. Node-RED is stopped while windows are published and started again: with the
 * flow's settings (fixed client id, clean session off, auto-unsubscribe off, QoS 1) the broker keeps the windows
 * meanwhile, and the flow's output ends with every seq the daemon published exactly once, in order.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { killNodeRed, startNodeRed } from '../helpers/node-red.js';
import { poll } from '../helpers/wait.js';

const FLOW = path.join(REPO_ROOT, 'deploy', 'node-red', 'avscene-flow.json');
const DEVICE = 'nodered-e2e';

after(async () => {
  killAll();
  killNodeRed();
  await Collector.closeAll();
});

type Node = Record<string, unknown> & { id: string; type: string; name?: string; wires?: string[][] };

test('the shipped flow, restarted while windows are published, ends with every window exactly once, in seq order; the current scene follows', async () => {
  const broker = await startMosquitto();
  const shipped = JSON.parse(readFileSync(FLOW, 'utf8')) as Node[];
  const brokerNode = shipped.find((n) => n.type === 'mqtt-broker')!;
  // What the README tells the author to keep: the settings that make the broker hold windows for a stopped Node-RED.
  assert.equal(brokerNode.cleansession, false);
  assert.equal(brokerNode.autoUnsubscribe, false);
  assert.ok(typeof brokerNode.clientid === 'string' && brokerNode.clientid.length > 0, 'a fixed client id');
  const windowIn = shipped.find((n) => n.type === 'mqtt in' && String(n.topic).endsWith('/window'))!;
  assert.equal(windowIn.qos, '1');
  // The author's part: the broker's address, and their own nodes on the flow's outputs (here: files the test reads).
  const dir = tempDir('avscene-node-red-');
  const windowsFile = path.join(dir, 'windows.jsonl');
  const scenesFile = path.join(dir, 'scenes.jsonl');
  const sink = (id: string, linkOut: string, file: string, value: string): Node[] => [
    { id: `${id}-in`, type: 'link in', z: 'avscene-tab', name: id, links: [linkOut], wires: [[`${id}-fmt`]] },
    {
      id: `${id}-fmt`,
      type: 'function',
      z: 'avscene-tab',
      func: `msg.payload = JSON.stringify(${value}); return msg;`,
      outputs: 1,
      wires: [[`${id}-file`]],
    },
    {
      id: `${id}-file`,
      type: 'file',
      z: 'avscene-tab',
      filename: file,
      filenameType: 'str',
      appendNewline: true,
      createDir: true,
      overwriteFile: 'false',
      encoding: 'utf8',
      wires: [],
    },
  ];
  const linkOut = (name: string) => shipped.find((n) => n.type === 'link out' && n.name === name)!.id;
  const flows = [
    ...shipped.map((n) => (n.id === brokerNode.id ? { ...n, broker: '127.0.0.1', port: String(broker.port) } : n)),
    ...sink(
      'test-windows',
      linkOut('avscene windows'),
      windowsFile,
      '{ seq: msg.payload.seq, device: msg.payload.device }',
    ),
    ...sink('test-scene', linkOut('avscene current scene'), scenesFile, '{ device: msg.topic, label: msg.payload }'),
  ];
  const lines = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  const seqs = () => lines(windowsFile).map((w) => w.seq as number);

  const published = await Collector.subscribe(broker.url, `avscene/${DEVICE}/window`);
  // Node-RED first: the broker keeps windows for its session from its first subscription on.
  let red = await startNodeRed(dir, flows);
  await poll(red.log, (l) => l.includes('Connected to broker'), 30_000, 'Node-RED connected to the broker', {
    everyMs: 100,
  });
  const daemon = startCli(daemonArgs(broker.url, DEVICE, 'audio.loop=true'));
  try {
    await poll(seqs, (s) => s.length >= 3, 60_000, 'three windows through Node-RED', { everyMs: 100 });
    // Node-RED stops (an upgrade, a reboot of its host) while the device goes on publishing.
    await red.stop();
    const stoppedAt = published.messages.length;
    await published.until((m) => m.length >= stoppedAt + 4, 30_000, 'four windows published while Node-RED is down');
    red = await startNodeRed(dir, flows);
    // The device stops; then Node-RED must have every window it published.
    daemon.child.kill('SIGTERM');
    assert.equal((await daemon.exited).code, 0, daemon.stderr());
    const all = published.messages.map((m) => (JSON.parse(m.payload) as { seq: number }).seq);
    const expected = [...new Set(all)].sort((a, b) => a - b);
    const got = await poll(
      seqs,
      (s) => s.length >= expected.length && s.at(-1) === expected.at(-1),
      30_000,
      `seq ${expected.at(-1)} through Node-RED`,
      {
        everyMs: 100,
        explain: (s) => `got ${s.join(',')}; published ${expected.join(',')}\n${red.log().slice(-1500)}`,
      },
    );
    assert.deepEqual(got, expected, 'every window once, in order, none lost while Node-RED was down');
    assert.ok(lines(windowsFile).every((w) => w.device === DEVICE));
    // The current scene: the retained …/scene gave each start the newest label.
    const scenes = lines(scenesFile);
    assert.ok(scenes.length >= 2, `${scenes.length} scene updates`);
    assert.ok(scenes.every((s) => s.device === DEVICE && typeof s.label === 'string' && s.label !== ''));
    await red.stop();
  } finally {
    await broker.stop();
  }
});
