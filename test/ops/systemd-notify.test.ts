/**
 * sd_notify against a real Unix datagram socket bound by the test (as systemd's $NOTIFY_SOCKET is): READY=1 and
 * STATUS= (sent when it changes), WATCHDOG=1 at half WATCHDOG_USEC unless the pipeline is stuck, RELOADING=1 with
 * MONOTONIC_USEC then READY=1, EXTEND_TIMEOUT_USEC, STOPPING=1, and nothing outside systemd.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SystemdNotifier, type NotifyState } from '../../src/ops/systemd-notify.js';
import { memoryLogger } from '../capture/support.js';
import { NotifySocket, fields } from '../helpers/notify-socket.js';
import { execFileSync } from 'node:child_process';

/** CLOCK_MONOTONIC in µs, read by Python (clock_gettime), not by Node. */
const monotonicUsec = (): bigint =>
  BigInt(
    execFileSync('python3', ['-c', 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'], {
      encoding: 'utf8',
    }).trim(),
  );

const sockets: NotifySocket[] = [];
after(() => sockets.forEach((s) => s.close()));

function listen(): NotifySocket {
  const s = new NotifySocket();
  sockets.push(s);
  return s;
}

/** A pipeline the test makes stuck or not; its status line changes on every look (so every tick sends one). */
function pipeline(): NotifyState & { flows: boolean; windows: number } {
  return {
    flows: true,
    windows: 0,
    stuck() {
      return this.flows ? null : 'no window went through the pipeline for 1 s (capture or inference stalled)';
    },
    statusLine() {
      return `street 87%\n${this.windows++} windows`;
    },
  };
}

test('READY=1 with a one-line STATUS, watchdog pings while windows flow, none while stalled, STOPPING=1 at the end', async () => {
  const socket = listen();
  const { logger, lines } = memoryLogger();
  const env: NodeJS.ProcessEnv = {
    NOTIFY_SOCKET: socket.path,
    WATCHDOG_USEC: '200000',
    WATCHDOG_PID: String(process.pid),
  };
  const notifier = SystemdNotifier.fromEnvironment(logger, env)!;
  assert.ok(notifier, 'a notifier when NOTIFY_SOCKET is set');
  assert.equal(notifier.pingIntervalMs, 100, 'pings at half of WATCHDOG_USEC');
  assert.deepEqual(env, {}, 'NOTIFY_SOCKET and WATCHDOG_* are not passed on to child processes');

  const state = pipeline();
  notifier.ready(state);
  await socket.until((m) => m.length >= 1, 2000, 'READY=1');
  assert.deepEqual(fields(socket.messages[0]!), { READY: '1', STATUS: 'street 87% · 0 windows' });

  const pings = () => socket.messages.filter((m) => fields(m).WATCHDOG === '1').length;
  await socket.until(() => pings() >= 3, 3000, 'three watchdog pings');

  // The pipeline is stuck: the ticks go on (STATUS refreshes) but carry no WATCHDOG=1 any more.
  state.flows = false;
  const stalledFrom = socket.messages.length + 1; // the tick in progress may still have seen the flow
  await socket.until((m) => m.length >= stalledFrom + 4, 3000, 'four ticks after the stall');
  const afterStall = socket.messages.slice(stalledFrom);
  assert.ok(
    afterStall.every((m) => fields(m).WATCHDOG === undefined && fields(m).STATUS !== undefined),
    afterStall.join(' | '),
  );
  assert.match(
    lines.find((l) => l.level === 50)?.msg ?? '',
    /^no window went through the pipeline .*: watchdog pings withheld, so systemd restarts avscene/,
  );

  state.flows = true;
  const resumedFrom = socket.messages.length;
  await socket.until((m) => m.slice(resumedFrom).some((x) => fields(x).WATCHDOG === '1'), 3000, 'pings to resume');

  notifier.stopping();
  const before = socket.messages.length;
  await socket.until((m) => m.length > before, 2000, 'STOPPING=1');
  assert.equal(fields(socket.messages.at(-1)!).STOPPING, '1');
  notifier.close();
});

test('a watchdog meant for another process, or none, only refreshes STATUS', async () => {
  const socket = listen();
  const { logger } = memoryLogger();
  const notifier = SystemdNotifier.fromEnvironment(logger, {
    NOTIFY_SOCKET: socket.path,
    WATCHDOG_USEC: '200000',
    WATCHDOG_PID: '1',
  })!;
  assert.equal(notifier.pingIntervalMs, null);
  notifier.ready(pipeline());
  await socket.until((m) => m.length >= 1, 2000, 'READY=1');
  assert.equal(fields(socket.messages[0]!).READY, '1');
  notifier.close();
});

test('without NOTIFY_SOCKET (not run by systemd) there is no notifier; an abstract socket is refused with a warning', () => {
  const { logger, lines } = memoryLogger();
  assert.equal(SystemdNotifier.fromEnvironment(logger, {}), null);
  assert.equal(SystemdNotifier.fromEnvironment(logger, { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }), null);
  assert.match(lines[0]!.msg, /NOTIFY_SOCKET is not a file system path/);
});

test('a reload is RELOADING=1 with MONOTONIC_USEC, then READY=1 once it is done; EXTEND_TIMEOUT_USEC in microseconds', async () => {
  const socket = listen();
  const { logger } = memoryLogger();
  const notifier = SystemdNotifier.fromEnvironment(logger, { NOTIFY_SOCKET: socket.path })!;
  notifier.extendStartTimeout(60_000, 'loading demo 1.0.0: TensorRT may be building its engines');
  await socket.until((m) => m.length >= 1, 2000, 'EXTEND_TIMEOUT_USEC');
  assert.deepEqual(fields(socket.messages[0]!), {
    EXTEND_TIMEOUT_USEC: '60000000',
    STATUS: 'loading demo 1.0.0: TensorRT may be building its engines',
  });
  const state = pipeline();
  notifier.ready(state);
  await socket.until((m) => m.some((x) => fields(x).READY === '1'), 2000, 'READY=1');

  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const before = socket.messages.length;
  const t0 = monotonicUsec();
  notifier.reloading(state, done);
  await socket.until((m) => m.slice(before).some((x) => fields(x).RELOADING === '1'), 2000, 'RELOADING=1');
  const reloading = fields(socket.messages.slice(before).find((x) => fields(x).RELOADING === '1')!);
  // CLOCK_MONOTONIC in µs (what systemd compares with its own clock), as another process reads it before and after.
  const usec = BigInt(reloading.MONOTONIC_USEC!);
  const t1 = monotonicUsec();
  assert.ok(usec >= t0 && usec <= t1, `MONOTONIC_USEC ${usec} not within [${t0}, ${t1}]`);
  // A marker datagram after the event loop turned once: anything sent early would be ahead of it (datagrams keep order).
  await new Promise((r) => setImmediate(r));
  notifier.extendStartTimeout(1, 'marker');
  await socket.until((m) => m.some((x) => fields(x).STATUS === 'marker'), 2000, 'the marker');
  const readyAgain = () => socket.messages.slice(before).filter((x) => fields(x).READY === '1').length;
  assert.equal(readyAgain(), 0, 'no READY=1 before the reload is done');
  finish();
  await socket.until(() => readyAgain() === 1, 2000, 'READY=1 after the reload');
  notifier.close();
});
