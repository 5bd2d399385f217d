/**
 * The frame picker that runs in the video process, driven directly on videos made here with ffmpeg whose frames show
 * their own index (16 black/white blocks = 16 bits): it must choose exactly the frame a full decode would (the one
 * nearest each target, by the frames' own timestamps), also when it seeks over long gaps.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileFramePicker, SEEK_GAP_S } from '../../src/capture/file-frame-picker.js';
import { loadOpenCV, type CV } from '../../src/video/opencv.js';
import type { VideoFrame } from '../../src/capture/types.js';
import { tempDir } from '../helpers/media.js';
import { ffmpeg, hasProgram } from './support.js';

const dir = tempDir('avscene-frame-picker-');
after(() => rmSync(dir, { recursive: true, force: true }));

const W = 128;
const H = 16;
let cv: CV;
before(async () => {
  cv = await loadOpenCV();
});

/** A video whose frame k shows k in binary, one 8-px block per bit; `vf` appends filters (e.g. timestamps). */
function indexVideo(name: string, fps: string, frames: number, extra: string[] = []): string {
  const file = path.join(dir, name);
  const pattern = `color=black:s=${W}x${H}:r=${fps},format=gray,geq=lum='255*mod(trunc(N/pow(2\\,trunc(X/8)))\\,2)'`;
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    pattern,
    '-frames:v',
    String(frames),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...extra,
    file,
  ]);
  return file;
}

/** Presentation times of every frame, as ffprobe reads them. */
function frameTimes(file: string): number[] {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  return (JSON.parse(out) as { frames: Array<{ pts_time: string }> }).frames.map((f) => Number(f.pts_time));
}

function frameIndex(f: VideoFrame): number {
  assert.equal(f.bgr.length, W * H * 3);
  let k = 0;
  for (let bit = 0; bit < 16; bit++) if (f.bgr[(8 * W + bit * 8 + 4) * 3]! > 128) k |= 1 << bit;
  return k;
}

/** Brute force over known frame times: the index of the frame nearest t (ties to the earlier one), or null past the end. */
function nearest(times: number[], t: number, end: number): number | null {
  if (t >= end) return null;
  let best = 0;
  for (let k = 1; k < times.length; k++) if (Math.abs(times[k]! - t) < Math.abs(times[best]! - t)) best = k;
  return best;
}

describe('file frame picker', { skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found' }, () => {
  it('picks the nearest frame for 60 consecutive windows of a 30 fps file, decoding each frame once', () => {
    const fps = 30;
    const count = 60 * fps;
    const picker = new FileFramePicker(cv, indexVideo('idx-30.mp4', String(fps), count));
    picker.open();
    const times = Array.from({ length: count }, (_, k) => k / fps);
    for (let w = 0; w < 60; w++) {
      const f = picker.pick(w + 0.5, false);
      assert.equal(frameIndex(f!), nearest(times, w + 0.5, count / fps), `window ${w}`);
      assert.ok(Math.abs(f!.timestamp - times[frameIndex(f!)]!) < 1e-9, 'frame timestamps are media seconds');
    }
    assert.equal(picker.pick(60.5, false), null, 'past the end');
    assert.equal(picker.stats.decoded, count, 'no frame decoded twice');
    assert.equal(picker.stats.seeks, 0, 'consecutive windows need no seek');
    picker.close();
  });

  it('seeks over a long gap and lands on the same frame a full decode gives', () => {
    const fps = 10;
    const count = 600; // 60 s, one keyframe every 5 s
    const picker = new FileFramePicker(cv, indexVideo('idx-gap.mp4', String(fps), count, ['-g', '50']));
    picker.open();
    const times = Array.from({ length: count }, (_, k) => k / fps);
    const targets = [0.5, 1.5, 30.5, 31.5, 52.5, 2.5, 59.5];
    for (const t of targets)
      assert.equal(frameIndex(picker.pick(t, false)!), nearest(times, t, count / fps), `target ${t} s`);
    assert.ok(
      picker.stats.seeks >= 2,
      `gaps over ${SEEK_GAP_S} s are crossed by seeking (${picker.stats.seeks} seeks)`,
    );
    assert.ok(picker.stats.decoded < count, `not every frame is decoded (${picker.stats.decoded} of ${count})`);
    picker.close();
  });

  it("follows the frames' own timestamps when they are irregular (variable frame rate)", () => {
    // 10 fps, but frames 20 and later come 0.4 s late: the container still says 10 fps.
    const file = indexVideo('idx-vfr.mkv', '10', 60, ['-vf', "setpts='N+4*gte(N,20)'", '-fps_mode', 'passthrough']);
    const times = frameTimes(file);
    assert.ok(Math.abs(times[20]! - times[19]! - 0.5) < 0.002, `the file has the gap (${times[19]} → ${times[20]})`);
    const picker = new FileFramePicker(cv, file);
    picker.open();
    const picks = [0, 1, 2, 3, 4, 5].map((w) => frameIndex(picker.pick(w + 0.5, false)!));
    assert.deepEqual(
      picks,
      [0, 1, 2, 3, 4, 5].map((w) => nearest(times, w + 0.5, times.at(-1)! + 0.1)),
    );
    picker.close();
  });
});
