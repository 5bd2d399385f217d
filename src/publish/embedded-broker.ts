/** An in-process MQTT broker (aedes) for the out-of-the-box setup: `mqtt.url` empty. */
import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../log/logger.js';
import { ConfigError } from '../config/load.js';

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, logger: Logger): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
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
