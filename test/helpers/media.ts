/** Test media made on the fly with ffmpeg and sox (real files, decoded by the real code paths). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'avscene-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An H.264 MP4 test pattern of `seconds` at `fps`, 320×240. */
export function makeVideo(file: string, seconds: number, fps = 25): string {
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=320x240:rate=${fps}`,
    '-t',
    String(seconds),
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    file,
  ]);
  return file;
}
