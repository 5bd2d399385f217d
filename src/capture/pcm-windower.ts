/** Cuts a stream of interleaved 16-bit little-endian stereo PCM (arbitrary chunk sizes) into exact 1-s planar float windows. */
import { WINDOW_SAMPLES } from '../audio/index.js';

const CHANNELS = 2;
const BYTES_PER_FRAME = CHANNELS * 2;
export const WINDOW_BYTES = WINDOW_SAMPLES * BYTES_PER_FRAME;

export interface PcmWindow {
  left: Float32Array;
  right: Float32Array;
}

export class PcmWindower {
  /** Bytes of the window being filled; copied out when full, so chunk boundaries never matter. */
  private readonly pending = Buffer.alloc(WINDOW_BYTES);
  private filled = 0;

  /** Bytes waiting for the rest of their window. */
  get pendingBytes(): number {
    return this.filled;
  }

  /** Appends a chunk; returns every window it completed (usually 0 or 1). */
  push(chunk: Buffer): PcmWindow[] {
    const out: PcmWindow[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(WINDOW_BYTES - this.filled, chunk.length - pos);
      chunk.copy(this.pending, this.filled, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === WINDOW_BYTES) {
        out.push(deinterleave(this.pending));
        this.filled = 0;
      }
    }
    return out;
  }

  /** Drops a partial window (after a capture restart the next bytes do not continue it). */
  reset(): void {
    this.filled = 0;
  }
}

/** S16LE interleaved L,R → planar float in [-1, 1) (int16 / 2^15, as the feature spec scales PCM). */
function deinterleave(bytes: Buffer): PcmWindow {
  // Buffer.alloc gives the window its own 2-byte-aligned memory; Node's targets (x86-64, arm64) are little-endian like the PCM.
  const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, WINDOW_SAMPLES * CHANNELS);
  const left = new Float32Array(WINDOW_SAMPLES);
  const right = new Float32Array(WINDOW_SAMPLES);
  for (let i = 0; i < WINDOW_SAMPLES; i++) {
    left[i] = pcm[2 * i]! / 32768;
    right[i] = pcm[2 * i + 1]! / 32768;
  }
  return { left, right };
}
