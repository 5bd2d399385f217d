/**
 * The operations endpoint against abuse, on real sockets: status pages (/events) that never read cannot grow the
 * daemon's memory (a cap on pages, back-pressure, a stalled page dropped), and a request whose Host header is not this
 * endpoint's (a DNS-rebinding page) gets 403.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import { MAX_FEEDS, OpsServer } from '../../src/http/server.js';
import { notStarted } from '../../src/ops/live-state.js';
import { waitFor } from '../helpers/wait.js';

/** A status document of 256 KiB: what 100 pages x many updates would buffer is then unmistakable. */
const BIG_STATUS = { padding: 'x'.repeat(256 << 10) };

function server(options: { allowedHosts?: string[]; listen?: string } = {}) {
  return new OpsServer({
    listen: options.listen ?? '127.0.0.1:0',
    live: notStarted,
    status: () => BIG_STATUS,
    metrics: async () => ({ body: '', contentType: 'text/plain' }),
    logger: pino({ level: 'silent' }),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
}

/** Sends a raw request and returns the status line and headers read so far (the body is never read on). */
function rawRequest(port: number, path: string, host: string | null): Promise<{ socket: net.Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}\r\n`);
    });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        socket.pause(); // never reads again: the kernel buffers fill, then the server's
        resolve({ socket, head: head.slice(0, end) });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

test('100 status pages that never read: 16 get the feed, the rest 503, and memory stays bounded', async () => {
  const ops = server();
  const base = new URL(await ops.start());
  const port = Number(base.port);
  const clients = await Promise.all(Array.from({ length: 100 }, () => rawRequest(port, '/events', base.host)));
  try {
    const accepted = clients.filter((c) => c.head.startsWith('HTTP/1.1 200'));
    const refused = clients.filter((c) => c.head.startsWith('HTTP/1.1 503'));
    assert.equal(accepted.length, MAX_FEEDS);
    assert.equal(refused.length, 100 - MAX_FEEDS);
    const rssBefore = process.memoryUsage().rss;
    // 400 updates of 256 KiB each to 16 pages: 1.6 GB if every write were buffered.
    for (let i = 0; i < 400; i++) {
      ops.push();
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grown < 200, `RSS grew ${grown.toFixed(0)} MiB`);
    // The pages are still open (only skipped while they do not read), so a 17th is still refused.
    const extra = await rawRequest(port, '/events', base.host);
    assert.match(extra.head, /^HTTP\/1\.1 503/);
    extra.socket.destroy();
  } finally {
    for (const c of clients) c.socket.destroy();
    await ops.close();
  }
});

test('a page that reads again gets updates again; one closed frees its place', async () => {
  const ops = server();
  const base = new URL(await ops.start());
  const port = Number(base.port);
  const clients = await Promise.all(Array.from({ length: MAX_FEEDS }, () => rawRequest(port, '/events', base.host)));
  try {
    clients[0]!.socket.destroy(); // the server sees the close a moment later: ask until the place is free
    let next: Awaited<ReturnType<typeof rawRequest>> | undefined;
    for (let i = 0; i < 50 && !next?.head.startsWith('HTTP/1.1 200'); i++) {
      next?.socket.destroy();
      next = await rawRequest(port, '/events', base.host);
    }
    assert.match(next!.head, /^HTTP\/1\.1 200/, 'a closed page freed its place');
    let received = 0;
    next!.socket.on('data', (d: Buffer) => (received += d.length));
    next!.socket.resume();
    ops.push();
    await waitFor(() => received > 256 << 10, 5000, 'an update to a page that reads');
    next!.socket.destroy();
  } finally {
    for (const c of clients) c.socket.destroy();
    await ops.close();
  }
});

test('a Host header that is not this endpoint gets 403; its address, localhost and http.allowedHosts are answered', async () => {
  const ops = server({ allowedHosts: ['kitchen.local'] });
  const base = new URL(await ops.start());
  const port = Number(base.port);
  const status = async (host: string | null, path = '/status.json') => {
    const { socket, head } = await rawRequest(port, path, host);
    socket.destroy();
    return Number(head.split(' ')[1]);
  };
  try {
    assert.equal(await status('attacker.example'), 403);
    assert.equal(await status(`attacker.example:${port}`), 403);
    assert.equal(await status('127.0.0.1.attacker.example'), 403);
    assert.equal(await status('attacker.example', '/events'), 403);
    assert.equal(await status('attacker.example', '/metrics'), 403);
    assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status(`localhost:${port}`), 200);
    assert.equal(await status('LOCALHOST'), 200);
    assert.equal(await status(`kitchen.local:${port}`), 200);
  } finally {
    await ops.close();
  }
  // Listening on every address: the address the client connected to is the endpoint's.
  const wide = server({ listen: '0.0.0.0:0' });
  const wideBase = new URL(await wide.start());
  try {
    const { socket, head } = await rawRequest(Number(wideBase.port), '/healthz', `127.0.0.1:${wideBase.port}`);
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 (200|503)/);
    const bad = await rawRequest(Number(wideBase.port), '/healthz', 'evil.example');
    bad.socket.destroy();
    assert.match(bad.head, /^HTTP\/1\.1 403/);
  } finally {
    await wide.close();
  }
});
