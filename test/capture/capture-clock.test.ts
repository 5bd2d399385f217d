/** Wall-clock stamping of live audio: arrival jitter, lost samples, a sound card whose clock runs slow. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureClock } from '../../src/capture/capture-clock.js';

const CHUNK = 4800; // 100 ms of frames at 48 kHz

describe('capture clock', () => {
  it('takes the least-delayed chunk as the reference, so jittery arrivals give exact 1-s spacing', () => {
    const t0 = 1_000_000;
    const clock = new CaptureClock(t0 - 50);
    const delays = [80, 35, 120, 20, 60, 95, 20, 45, 70, 30];
    delays.forEach((d, k) => clock.arrived(CHUNK, t0 + (k + 1) * 100 + d));
    // Capture started at t0; the fastest chunks arrived 20 ms after their last sample (plus at most 0.1 ms creep per chunk since).
    assert.ok(Math.abs(clock.timeOf(0) - (t0 + 20)) <= 0.5, `origin ${clock.timeOf(0) - t0} ms after t0`);
    assert.equal(clock.timeOf(48000) - clock.timeOf(0), 1000);
  });

  it('never places capture before the recorder was started', () => {
    const clock = new CaptureClock(5000);
    clock.arrived(48000, 5100); // a burst: 1 s of audio 100 ms after start (a file device, not a real microphone)
    assert.equal(clock.timeOf(0), 5000);
  });

  it('starts a new reference after samples were lost (arrivals suddenly more than 1 s late)', () => {
    const clock = new CaptureClock(0);
    for (let k = 1; k <= 10; k++) clock.arrived(CHUNK, 1000 + k * 100 + 10);
    assert.equal(clock.timeOf(0), 1010);
    const arrival = 1000 + 11 * 100 + 10 + 1500; // an overrun dropped 1.5 s before chunk 11
    clock.arrived(CHUNK, arrival);
    assert.equal(
      clock.timeOf(10 * CHUNK),
      arrival - 100,
      'the first frame of the late chunk is stamped by the new reference',
    );
  });

  it('follows a sound card clock that runs slower than the wall clock', () => {
    const clock = new CaptureClock(0);
    const ppm = 200e-6; // a cheap USB microphone: 48000 nominal, 47990.4 real
    for (let k = 1; k <= 36_000; k++) clock.arrived(CHUNK, 1000 + (k * 100) / (1 - ppm) + 10); // one hour
    const last = 36_000 * CHUNK - 48000; // first frame of the last 1-s window
    const really = 1000 + last / 48 / (1 - ppm); // when that frame was captured
    const drift = clock.timeOf(last) - really;
    assert.ok(Math.abs(drift) < 50, `stamps within 50 ms after an hour (off by ${drift.toFixed(1)} ms)`);
  });
});
