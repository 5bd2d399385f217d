/**
 * The daemon's handle on one video process (video-child.ts): requests with a time limit each, events, and a kill
 * that always works. A child process rather than a worker thread, because a thread stuck inside OpenCV (an RTSP
 * open waiting on a camera that never answers) can be neither interrupted nor joined: Node would wait for it at
 * exit. A process is gone the moment it gets SIGKILL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { VideoCall, VideoEvent, VideoMessage } from './video-protocol.js';

/** Starting a process and loading OpenCV may take this long (seconds on a busy board, never a network wait). */
const READY_TIMEOUT_MS = 60_000;

/** A request that got no answer in time; the process is presumed stuck (the caller usually kills it). */
export class VideoTimeout extends Error {}

/** `.js` once compiled; under tsx (tests) the child runs the `.ts` source with tsx registered. */
const CHILD = new URL(import.meta.url.endsWith('.ts') ? './video-child.ts' : './video-child.js', import.meta.url);

/** Video processes still running: killed when this process exits, however it exits, so none outlives the daemon. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class VideoProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private nextId = 1;
  private gone: Error | null = null;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<void>;
  private readySettled: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly readyPromise: Promise<void>;

  /** Receives the process's unsolicited messages (see VideoEvent); may be replaced when the process is reused. */
  onEvent: (event: VideoEvent) => void = () => {};

  constructor() {
    this.child = fork(fileURLToPath(CHILD), [], {
      serialization: 'advanced', // frames travel as binary, not JSON
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'], // OpenCV/FFmpeg warnings still reach the journal
      execArgv: CHILD.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
    });
    running.add(this.child);
    this.readyPromise = new Promise<void>((resolve, reject) => (this.readySettled = { resolve, reject }));
    this.readyPromise.catch(() => undefined); // nobody may be waiting for it
    this.child.on('message', (msg: VideoMessage) => {
      if ('event' in msg && msg.event === 'ready') {
        if (msg.error) this.readySettled?.reject(new Error(msg.error));
        else this.readySettled?.resolve();
        return;
      }
      if ('event' in msg) {
        this.onEvent(msg);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return; // answered after its time limit
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        this.fail(new Error(`the video process exited (${signal ?? `code ${code}`})`));
        resolve();
      });
      this.child.once('error', (err) => {
        running.delete(this.child);
        this.fail(new Error(`the video process failed: ${err.message}`));
        resolve();
      });
    });
  }

  /** Why the process is gone, or null while it runs. */
  get failed(): Error | null {
    return this.gone;
  }

  /** Resolves once the process has loaded OpenCV; rejects when it cannot (the binding's error), exits, or takes over a minute. */
  async ready(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VideoTimeout(`the video process did not start within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.readyPromise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a request; rejects with VideoTimeout after `timeoutMs`, or with the child's error. */
  request<T>(call: VideoCall, timeoutMs: number): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VideoTimeout(`no answer within ${(timeoutMs / 1000).toFixed(1)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...call, id });
    });
  }

  /** Ends the process at once (SIGKILL: it may be stuck in native code) and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private fail(err: Error): void {
    this.gone ??= err;
    this.readySettled?.reject(this.gone);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.gone);
    }
    this.pending.clear();
  }
}
