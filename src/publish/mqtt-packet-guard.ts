/**
 * A guard in front of the embedded broker's connections: it reads each MQTT packet's fixed header (type byte, then the
 * remaining length, 1–4 bytes of 7 bits) as the bytes pass and closes the connection at the first packet announcing more
 * than `maxBytes`, before the broker buffers it (aedes has no packet-size limit of its own: eleven 100-MB messages took
 * the daemon from 150 MB to 1.3 GB).
 */
import { Duplex } from 'node:stream';
import type net from 'node:net';

/** Returns a scanner fed every chunk in order; it answers false once a packet is too large. */
export function packetSizeScanner(maxBytes: number): (chunk: Buffer) => boolean {
  let skip = 0; // body bytes of the current packet still to pass
  let header = false; // the type byte was read, its remaining length is being read
  let length = 0;
  let shift = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
      } else if (!header) {
        header = true;
        length = 0;
        shift = 0;
        i++;
      } else {
        const byte = chunk[i++]!;
        length += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) !== 0 && shift < 28) continue;
        header = false;
        if (length > maxBytes || (byte & 0x80) !== 0) return false;
        skip = length;
      }
    }
    return true;
  };
}

/** `socket` as a stream for the broker, ended at the first packet larger than `maxBytes` (then `onRefused` runs). */
export function guardedConnection(socket: net.Socket, maxBytes: number, onRefused: () => void): Duplex {
  const scan = packetSizeScanner(maxBytes);
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => void socket.write(chunk, done),
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!scan(chunk)) {
      onRefused();
      stream.destroy();
      return;
    }
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', (err) => stream.destroy(err));
  return stream;
}
