/**
 * The sd_notify protocol (systemd's `Type=notify` and `WatchdogSec=`): one datagram of `KEY=value` lines to the Unix
 * socket named by $NOTIFY_SOCKET. Node has no Unix datagram sockets, so the datagrams go through `unix-dgram`
 * (a small native module: a non-blocking sendto(), no system library needed, compiled from source on any
 * architecture). Sent by the main process itself, so the unit keeps `NotifyAccess=main`.
 *
 * - `READY=1` once the daemon is up and has labelled its first window;
 * - `WATCHDOG=1` every half `WATCHDOG_USEC`, but only while windows keep flowing: a capture or inference stall stops
 *   the pings and systemd restarts the service (an event loop blocked in a driver call stops them as well);
 * - `STATUS=` a one-line summary for `systemctl status`, refreshed with every tick;
 * - `STOPPING=1` when shutdown begins.
 * Without $NOTIFY_SOCKET (not started by systemd) nothing is sent.
 */
import { createRequire } from 'node:module';
import type { UnixDgramSocket } from 'unix-dgram';
import type { Logger } from '../log/logger.js';

/** How often STATUS= is refreshed when systemd set no watchdog (and at most this apart when it did). */
const STATUS_INTERVAL_MS = 10_000;

export interface NotifyState {
  /** Whether windows flowed within the last `withinMs` (pings are withheld otherwise). */
  flowing(withinMs: number): boolean;
  /** One line for `systemctl status`. */
  statusLine(): string;
}

export class SystemdNotifier {
  private timer: NodeJS.Timeout | null = null;
  private stalled = false;
  private failed = false;

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

  /** READY=1 with the first status line; starts the watchdog pings and status refreshes. */
  ready(state: NotifyState): void {
    this.send(`READY=1\nSTATUS=${oneLine(state.statusLine())}`);
    const period = Math.min(this.pingIntervalMs ?? STATUS_INTERVAL_MS, STATUS_INTERVAL_MS);
    this.timer = setInterval(() => this.tick(state), period).unref();
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
    const status = `STATUS=${oneLine(state.statusLine())}`;
    if (this.pingIntervalMs === null) {
      this.send(status);
      return;
    }
    const flowing = state.flowing(this.pingIntervalMs);
    if (!flowing && !this.stalled) {
      this.logger.error(
        { withinMs: this.pingIntervalMs },
        'no window went through the pipeline lately (capture or inference stalled): watchdog pings withheld, so systemd restarts avscene',
      );
    } else if (flowing && this.stalled) {
      this.logger.info('windows flow again: watchdog pings resumed');
    }
    this.stalled = !flowing;
    this.send(flowing ? `WATCHDOG=1\n${status}` : status);
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
