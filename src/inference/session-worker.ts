/**
 * Worker-thread host of ONNX Runtime sessions. onnxruntime-node runs a session synchronously on the calling JS
 * thread, so sessions live here: the daemon's event loop (capture, MQTT) stays free while a window is inferred,
 * and two workers let independent nets run at the same time on two cores.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { LaneReply, LaneRequest, OpenReply, WireTensor } from './session-lane.js';
import { executionProviders, type Provider } from './providers.js';

// A missing GPU provider library is an expected, handled event (we fall back and report it); keep ORT's own
// red stderr lines for real failures only.
ort.env.logLevel = 'fatal';

const sessions = new Map<string, ort.InferenceSession>();
/** Providers that failed to load in this worker, with why: later sessions skip them instead of failing again. */
const unavailable = new Map<Provider, string>();

async function open(req: Extract<LaneRequest, { op: 'open' }>): Promise<OpenReply> {
  const fallbacks: Array<{ provider: Provider; reason: string }> = [];
  for (let i = 0; i < req.providers.length; i++) {
    const provider = req.providers[i]!;
    const known = unavailable.get(provider);
    if (known) {
      fallbacks.push({ provider, reason: known });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(req.file, {
        executionProviders: executionProviders(
          req.providers.slice(i),
          req.precision,
          req.engineCacheDir,
        ) as ort.InferenceSession.ExecutionProviderConfig[],
        intraOpNumThreads: req.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: req.optimization,
        // Sessions in different workers share two cores: idle pool threads must sleep, not spin.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      sessions.set(req.key, session);
      const meta = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
        list.map((v) =>
          v.isTensor ? { name: v.name, type: v.type as string, shape: [...v.shape] } : { name: v.name },
        );
      return { provider, fallbacks, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) };
    } catch (err) {
      if (provider === 'cpu') throw err;
      const reason = (err as Error).message.split('\n')[0]!;
      unavailable.set(provider, reason);
      fallbacks.push({ provider, reason });
    }
  }
  throw new Error('no execution provider could open the model');
}

async function run(
  req: Extract<LaneRequest, { op: 'run' }>,
): Promise<{ outputs: Record<string, WireTensor>; ms: number }> {
  const session = sessions.get(req.key);
  if (!session) throw new Error(`no open session "${req.key}"`);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(req.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
  const t0 = performance.now();
  const result = await session.run(feeds);
  const ms = performance.now() - t0;
  const outputs: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(result)) outputs[name] = { data: t.data as Float32Array, dims: [...t.dims] };
  return { outputs, ms };
}

/**
 * Requests run one at a time, in arrival order. (ORT's async run only defers the synchronous call to setImmediate,
 * so without this queue several runs would interleave and each one's measured time would include the others'.)
 */
let queue: Promise<unknown> = Promise.resolve();

parentPort!.on('message', (req: LaneRequest) => {
  const reply = (msg: LaneReply) => parentPort!.postMessage(msg);
  const work = queue.then(
    (): Promise<unknown> => (req.op === 'open' ? open(req) : req.op === 'run' ? run(req) : closeAll()),
  );
  queue = work.catch(() => undefined);
  work.then(
    (value) => reply({ id: req.id, ok: true, value }),
    (err: unknown) => reply({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

async function closeAll(): Promise<null> {
  for (const s of sessions.values()) await s.release();
  sessions.clear();
  return null;
}
