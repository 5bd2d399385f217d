/** Types for node-record-lpcm16 1.0.1 (the package ships none). Only what the ALSA source uses is relied upon. */
declare module 'node-record-lpcm16' {
  import type { ChildProcess } from 'node:child_process';
  import type { Readable } from 'node:stream';

  export interface RecordOptions {
    /** Default 16000. */
    sampleRate?: number;
    /** Default 1. */
    channels?: number;
    /** Default 'sox'. 'arecord' runs `arecord -q -r RATE -c CH -t TYPE -f S16_LE [-D device] -`. */
    recorder?: 'sox' | 'rec' | 'arecord';
    /** Default 'wav', which puts a 44-byte header in front of the PCM; use 'raw' for a plain sample stream. */
    audioType?: 'wav' | 'raw';
    /** Capture device (arecord -D); null = the recorder's default. */
    device?: string | null;
    endOnSilence?: boolean;
    threshold?: number;
    thresholdStart?: number | null;
    thresholdEnd?: number | null;
    silence?: string;
  }

  export interface Recording {
    /** The recorder's stdout. Emits 'error' with a *string* (not an Error) when the recorder exits with a non-zero code. */
    stream(): Readable;
    /** SIGTERM to the recorder; its exit then shows up as an 'error' string on the stream. */
    stop(): void;
    pause(): void;
    resume(): void;
    isPaused(): boolean;
    /** The recorder process; its own 'error' event (e.g. ENOENT when arecord is not installed) is not handled by the package. */
    readonly process: ChildProcess;
  }

  export function record(options?: RecordOptions): Recording;

  /** The package is CommonJS (`module.exports = { record }`); from ESM, import the default. */
  const lpcm16: { record: typeof record };
  export default lpcm16;
}
