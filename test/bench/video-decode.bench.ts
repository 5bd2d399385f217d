/**
 * What one window's frame costs to decode from an H.264 file, per strategy OpenCV 4.6 and its binding allow
 * (benchmark, not a test). CPU seconds of this process (all threads: FFmpeg decodes on its own) per 1-s window:
 *
 * - `picker`: FileFramePicker as shipped (every frame up to the target decoded and converted to BGR);
 * - `picker, OPENCV_FFMPEG_CAPTURE_OPTIONS=skip_frame;nokey`: a probe whether that variable reaches the decoder
 *   (it would then decode keyframes only: other frames, a tenth of the cost); in OpenCV 4.6 it reaches only the
 *   demuxer, so decoder settings (threads, skip_frame, skip_loop_filter) cannot be made through it;
 * - `seek per window`: set(CAP_PROP_POS_FRAMES) to just before each target, then read two frames; OpenCV's seek
 *   goes back to the keyframe at least 16 frames before it and decodes forward without converting (its grabFrame);
 * - ffmpeg CLI floors on the same file: decoding every frame (no conversion), decoding + converting to BGR, and
 *   keyframes only; and the ideal for H.264 (computed): decoding only the frames up to each keyframe interval's last
 *   window target, every later frame of the interval skipped, without conversion.
 *
 * Each strategy's chosen frames are checked against the picker's (a strategy that picks other frames is useless).
 *
 *   node --import tsx test/bench/video-decode.bench.ts FILE.mp4 [FILE2.mp4 …] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FileFramePicker } from '../../src/capture/file-frame-picker.js';
import { loadOpenCV } from '../../src/video/opencv.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '3' } },
});
const RUNS = Number(values.runs);
const cv = await loadOpenCV();

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds and the chosen frame times of one pass over every window of the file. */
type Pass = (file: string, windows: number) => { cpu: number; times: number[] };

const picker: Pass = (file, windows) => {
  const c0 = cpuSeconds();
  const p = new FileFramePicker(cv, file);
  p.open();
  const times: number[] = [];
  for (let w = 0; w < windows; w++) times.push(p.frameAt(w + 0.5, false)?.ts ?? NaN);
  p.close();
  return { cpu: cpuSeconds() - c0, times };
};

function withCaptureOptions(options: string, pass: Pass): Pass {
  return (file, windows) => {
    process.env.OPENCV_FFMPEG_CAPTURE_OPTIONS = options;
    try {
      return pass(file, windows);
    } finally {
      delete process.env.OPENCV_FFMPEG_CAPTURE_OPTIONS;
    }
  };
}

const seekPerWindow: Pass = (file, windows) => {
  const c0 = cpuSeconds();
  const cap = new cv.VideoCapture(file);
  const fps = cap.get(cv.CAP_PROP_FPS);
  const times: number[] = [];
  for (let w = 0; w < windows; w++) {
    const t = w + 0.5;
    cap.set(cv.CAP_PROP_POS_FRAMES, Math.max(0, Math.floor(t * fps)));
    const a = cap.read();
    const ta = cap.get(cv.CAP_PROP_POS_MSEC) / 1000;
    const b = cap.read();
    const tb = cap.get(cv.CAP_PROP_POS_MSEC) / 1000;
    times.push(b.empty || t - ta <= tb - t ? ta : tb);
    a.release();
    b.release();
  }
  cap.release();
  return { cpu: cpuSeconds() - c0, times };
};

/** CPU seconds of an ffmpeg run (its user + system time, from /usr/bin/time). */
function ffmpegCpu(args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'ffmpeg', '-hide_banner', '-loglevel', 'error', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return u! + s!;
}

function describeFile(file: string): { windows: number; frames: number; keyframes: number; needed: number } {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  const flags = r.stdout.trim().split('\n');
  const cap = new cv.VideoCapture(file);
  const seconds = cap.get(cv.CAP_PROP_FRAME_COUNT) / cap.get(cv.CAP_PROP_FPS);
  cap.release();
  const fps = flags.length / seconds;
  // Frames an ideal H.264 reader decodes: from each keyframe up to the last window target before the next keyframe.
  const keys = flags.flatMap((f, i) => (f.startsWith('K') ? [i] : []));
  let needed = 0;
  keys.forEach((k, j) => {
    const end = keys[j + 1] ?? flags.length;
    let last = -1;
    for (let w = 0; w < Math.floor(seconds); w++) {
      const t = Math.round((w + 0.5) * fps);
      if (t >= k && t < end) last = t;
    }
    if (last >= 0) needed += Math.min(last + 2, end) - k; // the target and the frame after it
  });
  return { windows: Math.floor(seconds), frames: flags.length, keyframes: keys.length, needed };
}

const la = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`# video decode cost per window — ${new Date().toISOString()}, load ${la}, median of ${RUNS}`);
for (const file of positionals) {
  const { windows, frames, keyframes, needed } = describeFile(file);
  console.log(`\n## ${file}: ${frames} frames, ${keyframes} keyframes, ${windows} windows`);
  const reference = picker(file, windows).times;
  const strategies: Array<[string, Pass]> = [
    ['picker (decode + convert every frame)', picker],
    ['picker, CAPTURE_OPTIONS=skip_frame;nokey', withCaptureOptions('skip_frame;nokey', picker)],
    ['seek per window (POS_FRAMES)', seekPerWindow],
  ];
  for (const [name, pass] of strategies) {
    const runs = Array.from({ length: RUNS }, () => pass(file, windows));
    const wrong = runs[0]!.times.filter((t, i) => Math.abs(t - reference[i]!) > 1e-6).length;
    console.log(
      `${name.padEnd(40)} ${((1000 * median(runs.map((r) => r.cpu))) / windows).toFixed(1).padStart(7)} ms CPU/window` +
        (wrong ? `  (${wrong} of ${windows} windows get another frame)` : '  (same frames)'),
    );
  }
  let decodeOnly = 0;
  for (const [name, args] of [
    ['ffmpeg: decode every frame, 1 thread', ['-threads', '1', '-i', file, '-f', 'null', '-']],
    ['ffmpeg: decode every frame, auto threads', ['-i', file, '-f', 'null', '-']],
    [
      'ffmpeg: decode + BGR every frame, 1 thread',
      ['-threads', '1', '-i', file, '-pix_fmt', 'bgr24', '-f', 'null', '-'],
    ],
    ['ffmpeg: decode keyframes only', ['-skip_frame', 'nokey', '-i', file, '-f', 'null', '-']],
  ] as const) {
    const cpu = median(Array.from({ length: RUNS }, () => ffmpegCpu([...args])));
    if (name === 'ffmpeg: decode every frame, 1 thread') decodeOnly = cpu;
    console.log(`${name.padEnd(40)} ${((1000 * cpu) / windows).toFixed(1).padStart(7)} ms CPU/window`);
  }
  const ideal = (1000 * decodeOnly * (needed / frames)) / windows;
  console.log(
    `${'ideal: decode only up to each target'.padEnd(40)} ${ideal.toFixed(1).padStart(7)} ms CPU/window  (${needed} of ${frames} frames, from the 1-thread decode)`,
  );
}
