/**
 * An in-process MQTT broker (aedes) for the out-of-the-box setup: `mqtt.url` empty. It listens on loopback only (no
 * authentication: it is the device's own), takes packets up to MAX_PACKET_BYTES and keeps retained messages up to
 * MAX_RETAINED_BYTES in all, so a local client cannot grow the daemon's memory without bound.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../log/logger.js';
import { ConfigError } from '../config/load.js';
import { guardedConnection } from './mqtt-packet-guard.js';

/** Largest MQTT packet the embedded broker takes (avscene's own messages are a few KiB). */
export const MAX_PACKET_BYTES = 1 << 20;
/** Retained payload bytes it keeps in all; past that a retained message is delivered but not kept. */
export const MAX_RETAINED_BYTES = 16 << 20;

/** Counts retained payload bytes per topic as clients publish; over the cap, the message loses its retain flag. */
function capRetained(broker: Aedes, logger: Logger): void {
  const sizes = new Map<string, number>();
  let total = 0;
  const authorize = broker.authorizePublish.bind(broker); // aedes' own: refuses $SYS topics
  broker.authorizePublish = (client, packet, done) => {
    if (packet.retain) {
      const size = Buffer.byteLength(packet.payload);
      const next = total - (sizes.get(packet.topic) ?? 0) + size;
      if (next > MAX_RETAINED_BYTES) {
        packet.retain = false;
        logger.warn(
          { topic: packet.topic, bytes: size, maxBytes: MAX_RETAINED_BYTES },
          `embedded MQTT broker: retained messages would exceed ${MAX_RETAINED_BYTES / 2 ** 20} MiB; delivered this one without keeping it`,
        );
      } else {
        total = next;
        if (size === 0) sizes.delete(packet.topic);
        else sizes.set(packet.topic, size);
      }
    }
    authorize(client, packet, done);
  };
}

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, logger: Logger): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  capRetained(broker, logger);
  const server = net.createServer((socket) =>
    broker.handle(
      guardedConnection(socket, MAX_PACKET_BYTES, () =>
        logger.warn(
          { client: `${socket.remoteAddress}:${socket.remotePort}`, maxBytes: MAX_PACKET_BYTES },
          `embedded MQTT broker: closed a connection that sent a packet over ${MAX_PACKET_BYTES / 2 ** 20} MiB`,
        ),
      ) as unknown as net.Socket,
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      broker.close(); // its heartbeat timer would keep the process alive after the failed start
      reject(
        err.code === 'EADDRINUSE'
          ? // Exit 78: restarting does not free the port.
            new ConfigError(
              `cannot start the embedded MQTT broker: 127.0.0.1:${port} is already in use. ` +
                `If a broker already runs there, set mqtt.url=mqtt://127.0.0.1:${port}; otherwise choose another mqtt.embeddedPort.`,
            )
          : err,
      );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const url = `mqtt://127.0.0.1:${address.port}`;
  logger.info({ url }, `embedded MQTT broker listening on ${url} (set mqtt.url to use an external broker)`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
