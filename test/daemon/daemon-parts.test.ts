/**
 * The daemon in-process, on parts handed to it: the real demo clip, the real demo bundle in onnxruntime and the real
 * labeler, with outputs that record what the daemon gives them (the SceneSink contract, without a transport).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import { DEMO_BUNDLE, DEMO_CLIP } from '../../src/util/package-info.js';
import { Daemon, type DaemonParts } from '../../src/daemon/daemon.js';
import { SceneLabeler } from '../../src/pipeline/scene-labeler.js';
import { loadBundle, SceneEngine } from '../../src/inference/index.js';
import type { HealthSnapshot, RunningModel, SceneSink, WindowResult } from '../../src/publish/sink.js';
import { memoryLogger } from '../capture/support.js';

const quiet = pino({ level: 'silent' });

class RecordingSink implements SceneSink {
  readonly description = 'recording';
  readonly windows: WindowResult[] = [];
  readonly health: HealthSnapshot[] = [];
  closedWith: number | null = null;
  constructor(private readonly failStart: Error | null = null) {}
  async start(): Promise<void> {
    if (this.failStart) throw this.failStart;
  }
  publishWindow(result: WindowResult): void {
    this.windows.push(result);
  }
  publishHealth(snapshot: HealthSnapshot): void {
    this.health.push(snapshot);
  }
  modelChanged(_model: RunningModel): void {}
  stats(): Record<string, number> {
    return { recordedWindows: this.windows.length };
  }
  async close(budgetMs: number): Promise<void> {
    this.closedWith = budgetMs;
  }
}

async function demoParts(sinks: SceneSink[]): Promise<DaemonParts & { closed: () => boolean }> {
  const bundle = await loadBundle(DEMO_BUNDLE);
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  let closed = false;
  return {
    audio: new FileAudioSource({ file: DEMO_CLIP, loop: false, realtime: false, logger: quiet }),
    video: null,
    labeler: new SceneLabeler(engine, bundle, 'parts', 0),
    engine: {
      close: async () => {
        closed = true;
        await engine.close();
      },
    },
    model: 'demo-audio',
    sinks,
    closed: () => closed,
  };
}

test("every sink gets every window in order with its timings, a health report with all sinks' stats, and a bounded close", async () => {
  const sinks = [new RecordingSink(), new RecordingSink()];
  const parts = await demoParts(sinks);
  const code = await new Daemon(parts, { deviceId: 'parts', queueDepth: 2, logger: quiet }).run();
  assert.equal(code, 0);
  for (const sink of sinks) {
    assert.deepEqual(
      sink.windows.map((w) => w.payload.seq),
      [...Array(10).keys()],
      'the demo clip has 10 windows, published in order',
    );
    assert.ok(
      sink.windows.every((w) => w.payload.device === 'parts' && w.timings.total! > 0),
      "payload and the engine's timings",
    );
    assert.equal(sink.health.length, 1, 'one health report at shutdown');
    assert.equal(sink.health[0]!.windows, 10);
    assert.equal(sink.health[0]!.recordedWindows, 10, "the sinks' stats are merged into the snapshot");
    assert.ok(
      sink.closedWith !== null && sink.closedWith <= 3000,
      `closed within the sinks' share of the budget (${sink.closedWith} ms)`,
    );
  }
  assert.ok(parts.closed(), 'the engine is closed');
});

test('a queue depth below 1 fails the run instead of being read as 1 (the config refuses inference.queue=0 too)', async () => {
  const sinks = [new RecordingSink()];
  const parts = await demoParts(sinks);
  await assert.rejects(
    new Daemon(parts, { deviceId: 'parts', queueDepth: 0, logger: quiet }).run(),
    /queue capacity must be at least 1/,
  );
  assert.ok(parts.closed(), 'the engine is closed');
  assert.notEqual(sinks[0]!.closedWith, null, 'the sink is closed');
});

test('a sink that cannot start fails the run, and what was opened is closed', async () => {
  const sinks = [new RecordingSink(), new RecordingSink(new Error('port taken'))];
  const parts = await demoParts(sinks);
  await assert.rejects(new Daemon(parts, { deviceId: 'parts', queueDepth: 2, logger: quiet }).run(), /port taken/);
  assert.ok(parts.closed(), 'the engine is closed');
  assert.ok(
    sinks.every((s) => s.closedWith !== null),
    'every sink is closed',
  );
  assert.equal(sinks[0]!.windows.length, 0);
});

test('an inference engine that stops working ends the run with exit code 1 (systemd restarts it), capture included', async () => {
  const bundle = await loadBundle(DEMO_BUNDLE);
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  // Its worker thread goes away after window 2 has been published (as when it crashes).
  class EngineDiesAfterWindow2 extends RecordingSink {
    override publishWindow(result: WindowResult): void {
      super.publishWindow(result);
      if (result.payload.seq === 2) void engine.close();
    }
  }
  const sink = new EngineDiesAfterWindow2();
  const { logger, lines } = memoryLogger();
  const parts: DaemonParts = {
    // A looped file never ends by itself: only the failure can end this run.
    audio: new FileAudioSource({ file: DEMO_CLIP, loop: true, realtime: false, logger: quiet }),
    video: null,
    labeler: new SceneLabeler(engine, bundle, 'parts', 0),
    engine,
    model: 'demo-audio',
    sinks: [sink],
  };
  const code = await new Daemon(parts, { deviceId: 'parts', queueDepth: 2, logger }).run();
  assert.equal(code, 1);
  const seqs = sink.windows.map((w) => w.payload.seq);
  assert.deepEqual(
    seqs,
    [...Array(seqs.length).keys()],
    'the windows classified before the failure were published, in order',
  );
  assert.ok(
    seqs.length >= 3 && seqs.length <= 4,
    `published ${seqs.length} windows: up to the one in flight when the worker went`,
  );
  const failure = lines.find((l) => l.msg === 'inference failed');
  assert.ok(failure, `the failure is logged: ${lines.map((l) => l.msg).join(' | ')}`);
  assert.match(String(failure.err), /inference (engine stopped working|worker)/);
  assert.equal(sink.health.length, 1, 'the shutdown still reports health');
});
