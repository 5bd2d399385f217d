/** Shared pieces of the capture tests: a logger whose lines the test can read, fixture PCM, ffmpeg. */
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import type { Logger } from '../../src/log/logger.js';
import type { AudioWindow } from '../../src/capture/types.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger that keeps its JSON lines in memory. */
export function memoryLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines, text: () => lines.map((l) => l.msg).join('\n') };
}

export const WARN = 40;
export const ERROR = 50;

/**
 * Sample frame i carries its own index: left = i & 0x7fff, right = i >> 15 (16-bit values, 48 kHz stereo S16LE),
 * so a window can be checked to start exactly at frame w·48000 and to hold consecutive frames.
 */
export function indexPcm(frames: number): Buffer {
  const buf = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    buf.writeInt16LE(i & 0x7fff, i * 4);
    buf.writeInt16LE(i >> 15, i * 4 + 2);
  }
  return buf;
}

/** Asserts that `w` holds frames first … first+47999 of an `indexPcm` stream; returns a message or undefined. */
export function indexPcmMismatch(w: AudioWindow, first: number): string | undefined {
  for (let j = 0; j < w.left.length; j++) {
    const i = first + j;
    if (w.left[j] !== (i & 0x7fff) / 32768 || w.right[j] !== (i >> 15) / 32768) {
      return `window ${w.index} sample ${j}: got (${w.left[j]! * 32768}, ${w.right[j]! * 32768}), expected frame ${i}`;
    }
  }
  return w.left.length === 48000 && w.right.length === 48000
    ? undefined
    : `window ${w.index} has ${w.left.length} samples`;
}

/** Runs ffmpeg (quiet); throws with its stderr when it fails. */
export function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

/** Whether a program is on PATH (tests that need it skip with a clear message otherwise). */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** An AudioWindow shell for video tests: only the timing fields matter to frameFor(). */
export function windowAt(index: number, mediaOffset: number, startMs = Date.now()): AudioWindow {
  return {
    index,
    mediaOffset,
    start: new Date(startMs),
    end: new Date(startMs + 1000),
    left: new Float32Array(0),
    right: new Float32Array(0),
  };
}

/** Collects up to `n` windows from a source, then stops iterating. */
export async function take(iter: AsyncIterable<AudioWindow>, n: number): Promise<AudioWindow[]> {
  const out: AudioWindow[] = [];
  if (n <= 0) return out;
  for await (const w of iter) {
    out.push(w);
    if (out.length >= n) break;
  }
  return out;
}
