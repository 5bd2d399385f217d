/** A real systemd-style notify socket: a Unix datagram socket the test binds, collecting every datagram it receives. */
import path from 'node:path';
import { createRequire } from 'node:module';
import type { UnixDgramSocket } from 'unix-dgram';
import { tempDir } from './media.js';

const dgram = createRequire(import.meta.url)('unix-dgram') as typeof import('unix-dgram');

export class NotifySocket {
  readonly path: string;
  readonly messages: string[] = [];
  private readonly socket: UnixDgramSocket;
  private waiters: Array<() => void> = [];

  constructor() {
    this.path = path.join(tempDir('avscene-notify-'), 'notify');
    this.socket = dgram.createSocket('unix_dgram', (msg) => {
      this.messages.push(msg.toString());
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.bind(this.path);
  }

  /** Resolves once `predicate(messages)` holds; rejects after `timeoutMs` with what arrived. */
  async until(predicate: (messages: string[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; notify socket got:\n${this.messages.join('\n---\n')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** The KEY=value assignments of one datagram. */
export function fields(message: string): Record<string, string> {
  return Object.fromEntries(
    message
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}
