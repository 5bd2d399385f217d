/**
 * The operations HTTP endpoint (`http.listen`): `/healthz`, `/readyz`, `/metrics` (Prometheus), the status page at
 * `/`, its live feed `/events` (server-sent events) and `/status.json`. Plain node:http: six read-only routes need no
 * framework. Loopback by default; nothing here changes the daemon, and no route serves audio or images.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { health, readiness, type LiveState } from '../ops/live-state.js';
import { STATUS_PAGE } from './status-page.js';

/** A listen address that cannot work (port taken, address not on this host). */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

export interface OpsServerOptions {
  /** `host:port` (`[::1]:port` for IPv6); port 0 = any free port. */
  listen: string;
  live: () => LiveState;
  /** The status page's document (JSON), sent on `/status.json` and pushed on `/events`. */
  status: () => unknown;
  metrics: () => Promise<{ body: string; contentType: string }>;
  logger: Logger;
  /** Host names the endpoint answers to besides its listen address, localhost and the address a client connected to
   *  (http.allowedHosts): a DNS-rebinding page names its own host and is refused. */
  allowedHosts?: readonly string[];
}

/** While a page is open, its state is pushed at least this often (so "last window … ago" and stalls show). */
const KEEPALIVE_MS = 5000;
/** Status pages open at once at most (/events): each holds a connection and gets every update. */
export const MAX_FEEDS = 16;
/** A page that has not read for this long while updates wait (its socket buffer full) is dropped. Updates are whole
 *  snapshots, so one skipped while a page catches up loses nothing but that moment; memory stays one event per page. */
export const STALLED_FEED_MS = 30_000;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new ListenError(
      `http.listen: "${listen}" is not host:port; use e.g. 127.0.0.1:8766, 0.0.0.0:8766, [::1]:8766, or "" to turn the endpoint off`,
    );
  return { host: m[1] ?? m[2]!, port };
}

export class OpsServer {
  private readonly server: http.Server;
  /** Open /events responses, each with when its socket buffer filled (null while it keeps up). */
  private readonly feeds = new Map<http.ServerResponse, number | null>();
  private readonly allowedHosts: Set<string>;
  private keepalive: NodeJS.Timeout | null = null;

  constructor(private readonly options: OpsServerOptions) {
    const { host } = parseListen(options.listen);
    this.allowedHosts = new Set(['localhost', host, ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()));
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        options.logger.warn({ url: req.url, err: err.message }, 'HTTP endpoint: request failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`error: ${err.message}\n`);
      });
    });
  }

  /** Listens; resolves to the base URL. ListenError when the address cannot be used. */
  async start(): Promise<string> {
    const { host, port } = parseListen(this.options.listen);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the port is in use by another program (another avscene?)'
            : err.code === 'EADDRNOTAVAIL'
              ? 'that address is not on this machine'
              : err.code === 'EACCES'
                ? 'ports below 1024 need privileges avscene does not have'
                : err.message;
        reject(
          new ListenError(
            `http.listen: cannot listen on ${this.options.listen}: ${why}; choose another http.listen, or "" to turn the endpoint off`,
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.keepalive = setInterval(() => this.push(), KEEPALIVE_MS).unref();
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${shown}:${address.port}`;
  }

  /** Sends the current status to every open page (after each window; pages also get it every few seconds). */
  push(): void {
    if (this.feeds.size === 0) return;
    const event = `data: ${JSON.stringify(this.options.status())}\n\n`;
    const now = Date.now();
    for (const [res, blockedSince] of this.feeds) {
      if (!res.writableNeedDrain) {
        if (!res.write(event)) this.feeds.set(res, now);
      } else if (blockedSince !== null && now - blockedSince > STALLED_FEED_MS) {
        this.options.logger.warn(
          { client: res.socket?.remoteAddress },
          `HTTP endpoint: dropped a status page that read nothing for ${STALLED_FEED_MS / 1000} s`,
        );
        res.destroy();
        this.feeds.delete(res);
      }
    }
  }

  async close(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    for (const res of this.feeds.keys()) res.end();
    this.feeds.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
        .end('only GET and HEAD\n');
      return;
    }
    if (!this.hostAllowed(req)) {
      send(
        res,
        403,
        'text/plain; charset=utf-8',
        `Host "${req.headers.host}" is not allowed: use the listen address or localhost, or add the name to http.allowedHosts\n`,
      );
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const { live } = this.options;
    switch (path) {
      case '/healthz':
      case '/readyz': {
        const verdict = path === '/healthz' ? health(live()) : readiness(live());
        const word = verdict.ok ? (verdict.degraded ? 'degraded' : 'ok') : 'unavailable';
        send(res, verdict.ok ? 200 : 503, 'text/plain; charset=utf-8', `${word}: ${verdict.reason}\n`);
        return;
      }
      case '/metrics': {
        const { body, contentType } = await this.options.metrics();
        send(res, 200, contentType, body);
        return;
      }
      case '/status.json':
        send(res, 200, 'application/json', JSON.stringify(this.options.status()));
        return;
      case '/events':
        this.openFeed(res);
        return;
      case '/':
        send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE);
        return;
      default:
        send(
          res,
          404,
          'text/plain; charset=utf-8',
          'not found; try /, /healthz, /readyz, /metrics, /status.json or /events\n',
        );
    }
  }

  /**
   * The Host header names this endpoint: its listen address, localhost, the address the client connected to, or a name
   * in http.allowedHosts. A page served from elsewhere whose name was rebound to this device's address (DNS rebinding)
   * sends its own name and is refused, so it cannot read the status. No Host (HTTP/1.0 tools) is no browser.
   */
  private hostAllowed(req: http.IncomingMessage): boolean {
    const header = req.headers.host;
    if (header === undefined) return true;
    const host = header
      .toLowerCase()
      .replace(/:\d*$/, '')
      .replace(/^\[(.*)\]$/, '$1');
    const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
    return this.allowedHosts.has(host) || host === local;
  }

  private openFeed(res: http.ServerResponse): void {
    if (this.feeds.size >= MAX_FEEDS) {
      send(
        res,
        503,
        'text/plain; charset=utf-8',
        `too many status pages open (${MAX_FEEDS}); close one, or read /status.json instead\n`,
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    // A page whose connection dropped (daemon restart) reconnects after 2 s.
    res.write(`retry: 2000\ndata: ${JSON.stringify(this.options.status())}\n\n`);
    this.feeds.set(res, null);
    res.on('drain', () => {
      if (this.feeds.has(res)) this.feeds.set(res, null);
    });
    res.on('close', () => this.feeds.delete(res));
  }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
