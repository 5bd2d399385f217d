/**
 * The sd_notify protocol (systemd's `Type=notify` and `WatchdogSec=`): one datagram of `KEY=value` lines to the Unix
 * socket named by $NOTIFY_SOCKET. Node has no Unix datagram sockets, so the datagrams go through `unix-dgram`
 * (a small native module: a non-blocking sendto(), no system library needed, compiled from source on any
 * architecture). Sent by the main process itself, so the unit keeps `NotifyAccess=main`.
 *
 * - `EXTEND_TIMEOUT_USEC=` while a long start-up step runs (TensorRT building its engines);
 * - `READY=1` once the bundle is loaded, the outputs started and the sources set up (a microphone that is away does not
 *   hold it back: it is retried and said so in STATUS=);
 * - `WATCHDOG=1` every half `WATCHDOG_USEC` unless the pipeline is stuck (windows expected but not coming, a stage
 *   that does not return; not while a missing microphone is retried): systemd then restarts the service (an event
 *   loop blocked in a driver call stops the pings as well);
 * - `STATUS=` a one-line summary for `systemctl status`, sent whenever it changes (checked every second);
 * - `RELOADING=1` with `MONOTONIC_USEC=` when a reload begins, `READY=1` once it is done (systemd 253+ asks for both);
 * - `STOPPING=1` when shutdown begins.
 * Without $NOTIFY_SOCKET (not started by systemd) nothing is sent.
 */
import { createRequire } from 'node:module';
import type { UnixDgramSocket } from 'unix-dgram';
import type { Logger } from '../log/logger.js';

/** How often the status line is looked at (sent when it changed). */
const STATUS_CHECK_MS = 1000;

export interface NotifyState {
  /** Why the pipeline is stuck (pings are withheld then), or null while it works or waits for a device as documented. */
  stuck(withinMs: number): string | null;
  /** One line for `systemctl status`. */
  statusLine(): string;
}

export class SystemdNotifier {
  private timer: NodeJS.Timeout | null = null;
  private stalled = false;
  private failed = false;
  private lastStatus = '';
  private lastPingAt = 0;

  private constructor(
    private readonly socket: UnixDgramSocket,
    private readonly socketPath: string,
    /** Half of WATCHDOG_USEC in ms, or null when systemd asked for no watchdog (or asked another process). */
    readonly pingIntervalMs: number | null,
    private readonly logger: Logger,
  ) {
    socket.on('error', (err) => this.sendFailed(err));
  }

  /**
   * The notifier systemd asked for through the environment, or null outside systemd. Reads and removes
   * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, so child processes (arecord, ffmpeg) do not inherit them.
   */
  static fromEnvironment(logger: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier | null {
    const socketPath = env.NOTIFY_SOCKET;
    const watchdogUsec = Number(env.WATCHDOG_USEC);
    const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    if (!socketPath) return null;
    if (!socketPath.startsWith('/')) {
      // An abstract (@…) or vsock: address: only seen in some containers; systemd itself gives a path.
      logger.warn(
        { NOTIFY_SOCKET: socketPath },
        'NOTIFY_SOCKET is not a file system path; only paths are supported, so systemd gets no readiness or watchdog notifications (use Type=simple in such a container)',
      );
      return null;
    }
    const dgram = createRequire(import.meta.url)('unix-dgram') as typeof import('unix-dgram');
    const socket = dgram.createSocket('unix_dgram');
    const interval =
      Number.isFinite(watchdogUsec) && watchdogUsec > 0 && watchdogPid === process.pid ? watchdogUsec / 2000 : null;
    return new SystemdNotifier(socket, socketPath, interval, logger);
  }

  /** EXTEND_TIMEOUT_USEC: systemd waits `ms` more from now for READY=1 (send again before it runs out). */
  extendStartTimeout(ms: number, status: string): void {
    this.send(`EXTEND_TIMEOUT_USEC=${Math.round(ms * 1000)}\nSTATUS=${oneLine(status)}`);
  }

  /** READY=1 with the first status line; starts the watchdog pings and status refreshes. */
  ready(state: NotifyState): void {
    this.lastStatus = oneLine(state.statusLine());
    this.lastPingAt = Date.now();
    this.send(`READY=1\nSTATUS=${this.lastStatus}`);
    const every = Math.min(STATUS_CHECK_MS, (this.pingIntervalMs ?? STATUS_CHECK_MS) / 2);
    this.timer = setInterval(() => this.tick(state), every).unref();
  }

  /** RELOADING=1 now (MONOTONIC_USEC: when, on CLOCK_MONOTONIC, as systemd 253+ asks), READY=1 once `done` settles. */
  reloading(state: NotifyState, done: Promise<void>): void {
    const monotonicUsec = process.hrtime.bigint() / 1000n; // libuv's hrtime is CLOCK_MONOTONIC on Linux
    this.send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec}\nSTATUS=reloading the model bundle`);
    void done.finally(() => {
      if (this.timer === null) return; // stopping
      this.lastStatus = oneLine(state.statusLine());
      this.send(`READY=1\nSTATUS=${this.lastStatus}`);
    });
  }

  /** STOPPING=1: shutdown has begun (systemd stops expecting pings). */
  stopping(status = 'stopping'): void {
    this.stopTimer();
    this.send(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  close(): void {
    this.stopTimer();
    this.socket.close();
  }

  private tick(state: NotifyState): void {
    const status = oneLine(state.statusLine());
    const lines = status === this.lastStatus ? [] : [`STATUS=${status}`];
    this.lastStatus = status;
    const now = Date.now();
    if (this.pingIntervalMs !== null && now - this.lastPingAt >= this.pingIntervalMs) {
      this.lastPingAt = now;
      const stuck = state.stuck(this.pingIntervalMs);
      if (stuck !== null && !this.stalled) {
        this.logger.error(
          { withinMs: this.pingIntervalMs },
          `${stuck}: watchdog pings withheld, so systemd restarts avscene`,
        );
      } else if (stuck === null && this.stalled) {
        this.logger.info('the pipeline works again: watchdog pings resumed');
      }
      this.stalled = stuck !== null;
      if (!this.stalled) lines.unshift('WATCHDOG=1');
    }
    if (lines.length > 0) this.send(lines.join('\n'));
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private send(message: string): void {
    const buf = Buffer.from(message);
    this.socket.send(buf, 0, buf.length, this.socketPath, (err) => {
      if (err) this.sendFailed(err);
    });
  }

  private sendFailed(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.logger.warn(
      { NOTIFY_SOCKET: this.socketPath, err: err.message },
      'cannot notify systemd (readiness, watchdog, status): is the notify socket still there?',
    );
  }
}

/** STATUS= ends at the line break: keep the summary on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' · ');
}
