/**
 * Video benchmark (not a test), on the built CLI (`npm run build` first):
 * 1. the daemon's CPU share of one core at real time over 30 s (its process and the video process together), audio
 *    alone, then a 720p30 and a 1080p30 video file, for the demo bundle (no image) and an image bundle made by the
 *    toolkit's fixture command (MobileNetV3-S 96 px);
 * 2. `avscene classify` of a 60-s clip with a 720p30 video, demo and image bundle: whole-process wall time / 60 s,
 *    and CPU time (process + video process: robust to other load, unlike wall time);
 * 3. `avscene classify` start-up (10-s clip, demo and image bundle, with and without video), split into phases from
 *    the log's timestamps.
 * Test media are made with ffmpeg in a temporary folder (kept for reruns with --media DIR).
 *
 *   node --import tsx test/bench/video.bench.ts [--cli dist/cli/main.js] [--seconds 30] [--media DIR] [--only cpu,classify,startup]
 *
 * --cli points at another build (e.g. /work/main/dist/cli/main.js) to measure the code before a change on the same media.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../helpers/mosquitto.js';
import { REPO_ROOT } from '../helpers/paths.js';

const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: path.join(REPO_ROOT, 'dist', 'cli', 'main.js') },
    seconds: { type: 'string', default: '30' },
    media: { type: 'string' },
    only: { type: 'string', default: 'cpu,classify,startup' },
    runs: { type: 'string', default: '3' },
  },
});
const CLI = path.resolve(values.cli!);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const only = new Set(values.only!.split(','));
const media = values.media ?? path.join(os.tmpdir(), 'avscene-video-bench');
mkdirSync(media, { recursive: true });
const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** A camera-like H.264 file (moving test pattern, 2-s GOP as IP cameras use), made once. */
function video(name: string, size: string, seconds: number): string {
  const file = path.join(media, name);
  if (!existsSync(file)) {
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=30`,
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '60',
      '-pix_fmt',
      'yuv420p',
      file,
    ]);
  }
  return file;
}

function wav(name: string, seconds: number): string {
  const file = path.join(media, name);
  if (!existsSync(file))
    ffmpeg(['-f', 'lavfi', '-i', `anoisesrc=r=48000:a=0.1:d=${seconds}`, '-ac', '2', '-c:a', 'pcm_s16le', file]);
  return file;
}

function imageBundle(): string {
  const dir = path.join(media, 'fixture-av');
  if (!existsSync(path.join(dir, 'bundle.json'))) {
    execFileSync(
      '/usr/bin/python3',
      ['-m', 'avscene_models', 'fixture', '--system', 'av', '--out', dir, '--seed', '0', '--no-parity'],
      {
        cwd: path.join(REPO_ROOT, 'models'),
        env: { ...process.env, AVSCENE_TORCH_THREADS: '1' },
        stdio: 'ignore',
      },
    );
  }
  return dir;
}

/** CPU seconds (user + system) of a process and all its live descendants. */
function treeCpu(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(' ').map(Number));
      }
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the daemon at real time; CPU share of one core between 5 s after "avscene running" and SECONDS later. */
async function cpuShare(bundle: string, videoFile: string | null): Promise<number> {
  const port = await freePort();
  const args = [
    CLI,
    'run',
    '--set',
    `mqtt.embeddedPort=${port}`,
    '--set',
    `model.bundle=${bundle}`,
    '--set',
    `audio.file=${wav('noise-60.wav', 60)}`,
    '--set',
    'audio.loop=true',
    '--set',
    'sources.realtime=true',
    '--set',
    'log.level=info',
    '--set',
    'mqtt.homeAssistant=false',
  ];
  if (videoFile)
    args.push('--set', 'video.source=file', '--set', `video.file=${videoFile}`, '--set', 'video.loop=true');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AVSCENE_LOG_FORMAT: 'json' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('"msg":"avscene running"')) {
    if (child.exitCode !== null) throw new Error(`daemon exited: ${out.slice(-2000)}`);
    await sleep(50);
  }
  await sleep(5000); // past start-up
  const c0 = treeCpu(child.pid!);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = treeCpu(child.pid!);
  const t1 = performance.now();
  const dropped = (out.match(/falls behind/g) ?? []).length;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (dropped) console.error(`  (${dropped} windows dropped)`);
  return (100 * (c1 - c0)) / ((t1 - t0) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface ClassifyRun {
  wallMs: number;
  /** CPU time of the process and its video process (reaped before it exits), robust to other load unlike wall time. */
  cpuMs: number;
  phases: Record<string, number>;
}

/** CPU ms of this process's children that have been waited for (cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICK;
}

/** One whole-process `avscene classify`, with the log's timestamps as phase boundaries (ms since spawn). */
function classify(audio: string, videoFile: string | null, bundle: string): ClassifyRun {
  const args = [CLI, 'classify', audio, '--bundle', bundle, '--json'];
  if (videoFile) args.push('--video', videoFile);
  const c0 = childrenCpuMs();
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, AVSCENE_LOG_FORMAT: 'json', AVSCENE_LOG_LEVEL: 'info' },
  });
  const wallMs = Date.now() - t0;
  const cpuMs = childrenCpuMs() - c0;
  if (r.status !== 0) throw new Error(`classify failed: ${r.stderr}`);
  const phases: Record<string, number> = {};
  for (const line of r.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { time: number; msg: string };
    const at = l.time - t0;
    if (l.msg === 'onnxruntime-node execution providers') phases['modules loaded, bundle checked'] ??= at;
    if (l.msg === 'inference engine ready') phases['sessions created'] ??= at;
    if (l.msg === 'video file opened') phases['video opened'] ??= at;
    if (l.msg === 'audio file loaded') phases['audio decoded'] ??= at;
  }
  phases['exit'] = wallMs;
  return { wallMs, cpuMs, phases };
}

async function main(): Promise<void> {
  console.log(
    `# video benchmark — ${new Date().toISOString()}, ${os.cpus().length}× ${os.cpus()[0]?.model}, node ${process.version}, load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(`# cli: ${CLI}`);
  const v720 = video('720p30-40s.mp4', '1280x720', 40);
  const v1080 = video('1080p30-40s.mp4', '1920x1080', 40);
  const image = imageBundle();

  if (only.has('cpu')) {
    console.log(`\n## daemon CPU share of one core at real time, ${SECONDS} s (daemon + video process)`);
    for (const [name, bundle] of [
      ['demo bundle (audio only)', DEMO_BUNDLE],
      ['image bundle (fixture av)', image],
    ] as const) {
      for (const [label, file] of [
        ['audio alone', null],
        ['720p30 file', v720],
        ['1080p30 file', v1080],
      ] as const) {
        const pct = await cpuShare(bundle, file);
        console.log(`${name.padEnd(28)} ${label.padEnd(14)} ${pct.toFixed(1)} %`);
      }
    }
  }

  if (only.has('classify')) {
    const a60 = wav('noise-60.wav', 60);
    const v60 = video('720p30-60s.mp4', '1280x720', 60);
    console.log('');
    for (const [name, bundle] of [
      ['demo bundle', DEMO_BUNDLE],
      ['image bundle', image],
    ] as const) {
      const runs = Array.from({ length: RUNS }, () => classify(a60, v60, bundle));
      const walls = runs.map((r) => r.wallMs);
      const cpus = runs.map((r) => Math.round(r.cpuMs));
      console.log(
        `## classify, 60-s clip + 720p30 video, ${name}: wall ${walls.join(', ')} ms → RTF ${(median(walls) / 60_000).toFixed(3)}; CPU ${cpus.join(', ')} ms → ${(median(cpus) / 60_000).toFixed(3)} CPU-s per second of clip (median of ${RUNS})`,
      );
    }
  }

  if (only.has('startup')) {
    const a10 = wav('noise-10.wav', 10);
    const v10 = video('720p30-10s.mp4', '1280x720', 10);
    console.log(`\n## classify start-up, 10-s clip (ms since spawn, median of ${RUNS} runs)`);
    for (const [name, bundle, file] of [
      ['demo bundle, no video', DEMO_BUNDLE, null],
      ['demo bundle, --video 720p30', DEMO_BUNDLE, v10],
      ['image bundle, no video', image, null],
      ['image bundle, --video 720p30', image, v10],
    ] as const) {
      const runs = Array.from({ length: RUNS }, () => classify(a10, file, bundle));
      const keys = Object.keys(runs[0]!.phases);
      console.log(
        `${name.padEnd(30)} ${keys.map((k) => `${k} ${median(runs.map((r) => r.phases[k] ?? NaN))}`).join(' | ')} | CPU ${Math.round(median(runs.map((r) => r.cpuMs)))}`,
      );
    }
  }
}

await main();
