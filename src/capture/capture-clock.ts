/**
 * Wall-clock time of live audio samples. Chunks reach us some time after they were captured (pipe and
 * recorder buffering, event-loop delays), so `arrival - samplesSoFar / rate` is an upper bound of when capture
 * started; the smallest bound seen is the best estimate. Stamping each window with its arrival time instead
 * would jitter by a chunk (~0.3 s with arecord).
 */
import { SAMPLE_RATE } from '../audio/index.js';

/** How fast the estimate may move later when the sound card's clock runs slow against the wall clock (1000 ppm ≫ real drift). */
const CREEP_PER_MS = 1e-3;
/** Arrivals later than this behind the estimate mean samples were lost (overrun): start a new estimate. */
const LOST_SAMPLES_MS = 1000;

export class CaptureClock {
  /** Wall-clock ms of sample 0 of this capture session. */
  private origin = Number.NaN;
  private frames = 0;

  /** @param notBeforeMs nothing can have been captured before the recorder was started. */
  constructor(private readonly notBeforeMs: number) {}

  /** Records that `frames` more sample frames arrived at `arrivalMs` (wall clock). */
  arrived(frames: number, arrivalMs: number): void {
    this.frames += frames;
    const bound = arrivalMs - (this.frames * 1000) / SAMPLE_RATE;
    if (Number.isNaN(this.origin) || bound - this.origin > LOST_SAMPLES_MS) {
      this.origin = bound;
    } else {
      this.origin = Math.min(bound, this.origin + ((frames * 1000) / SAMPLE_RATE) * CREEP_PER_MS);
    }
    this.origin = Math.max(this.origin, this.notBeforeMs);
  }

  /** Wall-clock ms at which sample frame `frame` of this session was captured. */
  timeOf(frame: number): number {
    return this.origin + (frame * 1000) / SAMPLE_RATE;
  }
}
