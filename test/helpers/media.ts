/** Test media made on the fly with ffmpeg and sox (real files, decoded by the real code paths). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'avscene-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** ffmpeg writes `file` from the lavfi `source` (a test pattern, a colour, a tone) with the `output` options. */
export function fromLavfi(source: string, output: string[], file: string): string {
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, ...output, file];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return file;
}

/** An H.264 MP4 (yuv420p) of `seconds` of the lavfi video `source`. */
export function lavfiVideo(file: string, source: string, seconds: number): string {
  return fromLavfi(source, ['-t', String(seconds), '-pix_fmt', 'yuv420p', '-c:v', 'libx264'], file);
}

/** An H.264 MP4 test pattern of `seconds` at `fps`, 320×240. */
export function makeVideo(file: string, seconds: number, fps = 25): string {
  return lavfiVideo(file, `testsrc=size=320x240:rate=${fps}`, seconds);
}
