/** Types for unix-dgram 2.0.7 (the package ships none): the part the systemd notifier and its tests use. */
declare module 'unix-dgram' {
  import { EventEmitter } from 'node:events';

  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    /** Sends one datagram to the socket at `path`; `callback` gets a negative errno on failure. */
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
    close(): void;
    on(event: 'message', listener: (msg: Buffer, rinfo: { size: number; path?: string }) => void): this;
    on(event: 'error', listener: (err: Error & { code?: number }) => void): this;
    on(event: 'listening' | 'congestion' | 'writable' | 'connect', listener: () => void): this;
  }

  export function createSocket(type: 'unix_dgram', listener?: (msg: Buffer) => void): UnixDgramSocket;
}
