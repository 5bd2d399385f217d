/**
 * Live audio from an ALSA capture device through arecord (node-record-lpcm16): 48 kHz, 2 channels, S16_LE, raw.
 * A capture that fails (device unplugged, busy, wrong name, arecord missing) is logged with the fix and
 * restarted with backoff; the source itself never ends until aborted, so the daemon keeps running.
 */
import lpcm16, { type Recording } from 'node-record-lpcm16';
import type { Logger } from '../log/logger.js';
import { CaptureClock } from './capture-clock.js';
import { PcmWindower } from './pcm-windower.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './retry.js';
import { SAMPLE_RATE } from '../audio/index.js';
import type { AudioSource, AudioWindow, SourceCondition } from './types.js';
import { WindowQueue } from './window-queue.js';

export interface AlsaAudioSourceOptions {
  /** ALSA PCM name as `arecord -L` lists it ("default", "plughw:1,0", "hw:CARD=Device,DEV=0", a name from asound.conf). */
  device: string;
  logger: Logger;
  /** Windows held while the consumer is busy; then the oldest is dropped (a microphone cannot be paused). Default 8 (3 MB). */
  maxQueued?: number;
  backoff?: BackoffOptions;
}

/** How one arecord run ended. */
interface SessionEnd {
  reason: string;
  windows: number;
  /** Restarting cannot help before the user acts (arecord not installed); still retried, at the longest delay. */
  fatal: boolean;
}

const STOP_GRACE_MS = 2000;
const DROP_LOG_INTERVAL_MS = 30_000;

export class AlsaAudioSource implements AudioSource {
  readonly description: string;
  readonly noun: string;
  readonly live = true;
  private readonly log: Logger;
  private state: SourceCondition = { state: 'opening', since: Date.now() };
  private readonly maxQueued: number;
  private readonly backoffOpts: BackoffOptions;
  /** Sample frames captured since the source started, over all arecord runs (the live `mediaOffset`). */
  private framesSinceStart = 0;
  private windowIndex = 0;

  constructor(private readonly opts: AlsaAudioSourceOptions) {
    this.description = `alsa ${opts.device}`;
    this.noun = `microphone ${opts.device}`;
    this.log = opts.logger;
    this.maxQueued = opts.maxQueued ?? 8;
    this.backoffOpts = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /** opening while arecord first starts, up from its first window, waiting (with the reason) from a failure on. */
  condition(): SourceCondition {
    return this.state;
  }

  async *windows(signal: AbortSignal): AsyncIterable<AudioWindow> {
    let lastDropLog = 0;
    const queue = new WindowQueue<AudioWindow>(this.maxQueued, 'drop-oldest', (_oldest, dropped) => {
      const now = Date.now();
      if (now - lastDropLog < DROP_LOG_INTERVAL_MS) return;
      lastDropLog = now;
      this.log.warn(
        { device: this.opts.device, dropped },
        `audio processing is falling behind the microphone: ${dropped} window(s) dropped so far (oldest first, so capture stays real time)`,
      );
    });
    // Our own controller: the consumer may stop iterating (break) without aborting `signal`.
    const stop = new AbortController();
    // Aborting ends the iteration at once (the supervisor closes the queue only once arecord is gone). Not a
    // Promise.race of each take() against an abort promise: that promise stays pending for months, and every race
    // leaves a reaction on it that keeps the window it resolved to (384 kB per second of audio, never freed).
    stop.signal.addEventListener(
      'abort',
      () => {
        queue.clear();
        queue.close();
      },
      { once: true },
    );
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) stop.abort();
    const supervisor = this.supervise(queue, stop.signal).finally(() => queue.close());
    try {
      for (;;) {
        const w = await queue.take();
        if (w === undefined) return;
        yield w;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      stop.abort();
      await supervisor;
    }
  }

  /** Runs arecord, and again after each failure, until aborted. */
  private async supervise(queue: WindowQueue<AudioWindow>, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.backoffOpts);
    let failures = 0; // in the current outage
    // A retry keeps the state `waiting` (its retryAt passed) until the first window: a retry that hangs shows as a
    // wait that overran its retry time, which the daemon counts as stuck.
    while (!signal.aborted) {
      const end = await this.session(queue, signal, () => {
        this.state = { state: 'up', since: Date.now() };
        if (failures > 0)
          this.log.info({ device: this.opts.device }, `ALSA capture from "${this.opts.device}" is running again`);
        failures = 0;
      });
      if (signal.aborted) return;
      if (end.windows > 0) backoff.reset();
      const delay = end.fatal ? this.backoffOpts.maxMs : backoff.next();
      failures++;
      this.state = { state: 'waiting', since: Date.now(), reason: end.reason, retryAt: Date.now() + delay };
      // A device that stays away for days would log every 30 s; attempts 1, 2, 4, 8 … keep the journal readable.
      if ((failures & (failures - 1)) === 0) {
        this.log.error(
          { device: this.opts.device, reason: end.reason, attempt: failures, retryInMs: delay },
          [
            `ALSA capture from "${this.opts.device}" stopped: ${end.reason}.`,
            ...(end.fatal ? [] : [fixHint(this.opts.device)]),
            `Restarting in ${(delay / 1000).toFixed(1)} s${failures > 1 ? ` (attempt ${failures})` : ''}.`,
          ].join(' '),
        );
      }
      await sleep(delay, signal);
    }
  }

  /** One arecord run: pushes every complete window; resolves when arecord ends (or is stopped on abort). */
  private session(
    queue: WindowQueue<AudioWindow>,
    signal: AbortSignal,
    onFirstWindow: () => void,
  ): Promise<SessionEnd> {
    return new Promise<SessionEnd>((resolve) => {
      const startedAt = Date.now();
      let windows = 0;
      let stderrTail = '';
      let streamError = '';
      let finished = false;
      const finish = (reason: string, fatal = false): void => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        clearTimeout(killTimer);
        resolve({ reason, windows, fatal });
      };
      let killTimer: NodeJS.Timeout | undefined;

      let rec: Recording;
      try {
        rec = lpcm16.record({
          recorder: 'arecord',
          device: this.opts.device,
          sampleRate: SAMPLE_RATE,
          channels: 2,
          audioType: 'raw', // 'wav' would prepend a 44-byte header and shift every window
        });
      } catch (err) {
        finish(`cannot start arecord: ${errorText(err)}`);
        return;
      }
      const proc = rec.process;
      const stream = rec.stream();
      const windower = new PcmWindower();
      const clock = new CaptureClock(startedAt);
      let sessionFrames = 0;

      function onAbort(): void {
        rec.stop();
        // arecord ends on SIGTERM at once; make sure a wedged one cannot keep the daemon from exiting.
        killTimer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
        killTimer.unref();
      }
      signal.addEventListener('abort', onAbort, { once: true });

      proc.stderr?.on('data', (d: Buffer) => {
        stderrTail = (stderrTail + d.toString()).slice(-2000);
      });
      // Spawn failures come only here; the package does not listen, and an unhandled 'error' would kill the daemon.
      proc.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT')
          finish('arecord is not installed (install alsa-utils: `sudo apt-get install alsa-utils`)', true);
        else finish(`cannot run arecord: ${err.message}`);
      });
      // The package reports a non-zero exit as a *string* 'error' on the stream; keep it for the message.
      stream.on('error', (e: unknown) => {
        streamError = errorText(e);
      });
      stream.on('data', (chunk: Buffer) => {
        const arrival = Date.now();
        const windowStartFrame = sessionFrames - windower.pendingBytes / 4;
        const mediaStartFrame = this.framesSinceStart - windower.pendingBytes / 4;
        sessionFrames += chunk.length / 4;
        this.framesSinceStart += chunk.length / 4;
        clock.arrived(chunk.length / 4, arrival);
        const done = windower.push(chunk);
        done.forEach(({ left, right }, k) => {
          const startMs = clock.timeOf(windowStartFrame + k * SAMPLE_RATE);
          if (windows++ === 0) onFirstWindow();
          void queue.push({
            index: this.windowIndex++,
            start: new Date(startMs),
            end: new Date(startMs + 1000),
            mediaOffset: (mediaStartFrame + k * SAMPLE_RATE) / SAMPLE_RATE,
            left,
            right,
          });
        });
      });
      proc.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
        if (signal.aborted) return finish('stopped');
        const detail = lastLines(stderrTail) || streamError.split('\n')[0] || '';
        const how = code !== null ? `arecord exited with code ${code}` : `arecord was killed by ${sig ?? 'a signal'}`;
        finish(detail ? `${how}: ${detail}` : how);
      });
    });
  }
}

function fixHint(device: string): string {
  return (
    `Check that the microphone is plugged in, that no other program holds it, and that audio.device ("${device}") names a capture device ` +
    '(list them with `arecord -L`; e.g. "default", "plughw:1,0" or "plughw:CARD=Device,DEV=0").'
  );
}

function lastLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-2)
    .join(' / ');
}

/** node-record-lpcm16 rejects with strings; everything else is an Error or unknown. */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
