/**
 * A "lane": one worker thread holding ONNX Runtime sessions (see session-worker.ts), driven by promises.
 * Runs on one lane are sequential; runs on different lanes overlap.
 */
import { Worker } from 'node:worker_threads';
import type { GraphValue } from './bundle-checks.js';
import type { Precision, Provider } from './providers.js';

export interface WireTensor {
  data: Float32Array;
  dims: number[];
}
export type Optimization = 'disabled' | 'basic' | 'extended' | 'all';
export type LaneRequest =
  | {
      op: 'open';
      id: number;
      key: string;
      file: string;
      providers: Provider[];
      threads: number;
      optimization: Optimization;
      precision: Precision;
      engineCacheDir?: string;
    }
  | { op: 'run'; id: number; key: string; feeds: Record<string, WireTensor> }
  | { op: 'close'; id: number };
export interface OpenReply {
  /** The provider the session got (the first that loaded; later ones in the list only take nodes it cannot run). */
  provider: Provider;
  /** Providers tried before it and why they failed. */
  fallbacks: Array<{ provider: Provider; reason: string }>;
  inputs: GraphValue[];
  outputs: GraphValue[];
}
/** A request before the lane numbers it (Omit distributed over the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;
export type LaneReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** `.js` once compiled; `.ts` when the sources run under tsx (tests), where the worker must register tsx itself. */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './session-worker.ts' : './session-worker.js',
  import.meta.url,
);

function spawn(): Worker {
  if (WORKER_URL.pathname.endsWith('.ts')) {
    return new Worker(
      `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(WORKER_URL.href)});`,
      { eval: true },
    );
  }
  return new Worker(WORKER_URL);
}

export class SessionLane {
  private readonly worker = spawn();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(readonly name: string) {
    this.worker.on('message', (msg: LaneReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(new Error(`inference worker ${name} crashed: ${err.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`inference worker ${name} exited (code ${code})`)));
  }

  /** Why the worker is gone (crashed, exited or closed), or null while it runs. */
  get failed(): Error | null {
    return this.failure;
  }

  private request<T>(req: Unnumbered<LaneRequest>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id }); // tensors are copied: callers may reuse their buffers
    });
  }

  open(
    key: string,
    file: string,
    opts: {
      providers: Provider[];
      threads: number;
      optimization: Optimization;
      precision: Precision;
      engineCacheDir?: string;
    },
  ): Promise<OpenReply> {
    return this.request({ op: 'open', key, file, ...opts });
  }

  /** Runs session `key`; `ms` is the time inside ONNX Runtime, without the thread hop. */
  run(key: string, feeds: Record<string, WireTensor>): Promise<{ outputs: Record<string, WireTensor>; ms: number }> {
    return this.request({ op: 'run', key, feeds });
  }

  async close(): Promise<void> {
    if (!this.failure) await this.request({ op: 'close' }).catch(() => undefined);
    this.failure ??= new Error(`inference worker ${this.name} is closed`);
    await this.worker.terminate();
  }
}
