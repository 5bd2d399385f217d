#!/usr/bin/env node
// The daemon's CPU share with the HTTP endpoint off, on, and on with /metrics scraped every 15 s (as Prometheus would),
// for BENCHMARKS.md. Runs the built CLI on the demo clip in real time (one window per second, as on a device), with
// the embedded broker, and reads the process's own CPU time (/proc/PID/stat) over the same span for each condition.
//   node test/bench/endpoint-cpu.mjs [--seconds 120] [--rounds 1]
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '120' }, rounds: { type: 'string', default: '1' } },
});
const SPAN_S = Number(values.seconds);
const WARMUP_S = 20;
const TICK = 100; // USER_HZ (clock ticks per second) on Linux

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(name, listen, scrape) {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'dist/cli/main.js'),
      'run',
      '--set',
      'audio.loop=true',
      '--set',
      'mqtt.embeddedPort=0',
      '--set',
      `http.listen=${listen}`,
      '--set',
      'log.level=warn',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        AVSCENE_LOG_FORMAT: 'json',
        AVSCENE_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'avscene-bench-')),
        OPENCV4NODEJS_DISABLE_AUTOBUILD: '1',
        OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING: '1',
      },
      stdio: 'ignore',
    },
  );
  await sleep(WARMUP_S * 1000);
  const c0 = cpuSeconds(child.pid);
  const t0 = performance.now();
  let scrapes = 0;
  const deadline = t0 + SPAN_S * 1000;
  while (performance.now() < deadline) {
    if (scrape) {
      const body = await (await fetch(`http://${listen}/metrics`)).text();
      if (!body.includes('avscene_windows_total')) throw new Error('no metrics');
      scrapes++;
    }
    await sleep(Math.min(15_000, deadline - performance.now()));
  }
  const cpu = cpuSeconds(child.pid) - c0;
  const wall = (performance.now() - t0) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const share = (100 * cpu) / wall;
  console.log(
    `${name.padEnd(34)} ${cpu.toFixed(2)} s CPU in ${wall.toFixed(0)} s = ${share.toFixed(2)} % of one core${scrape ? ` (${scrapes} scrapes)` : ''}`,
  );
  return share;
}

const port = 20000 + Math.floor(Math.random() * 20000);
for (let round = 1; round <= Number(values.rounds); round++) {
  await measure(`round ${round}: endpoint off`, '', false);
  await measure(`round ${round}: endpoint on, not scraped`, `127.0.0.1:${port}`, false);
  await measure(`round ${round}: endpoint on, /metrics every 15 s`, `127.0.0.1:${port}`, true);
}
