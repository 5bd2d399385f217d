/** One mosquitto for a whole test file: started before its first test; after the last, the CLIs and subscribers the tests left are ended, then the broker. */
import { after, before } from 'node:test';
import { killAll } from './cli.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { Collector } from './mqtt-collector.js';

export function mosquittoForThisFile(): Mosquitto {
  let broker: Mosquitto | undefined;
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    killAll();
    await Collector.closeAll();
    await broker?.stop();
  });
  const started = (): Mosquitto => broker ?? assertNever("the broker is used before the file's before() hook ran");
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    stop: () => started().stop(),
  };
}

function assertNever(message: string): never {
  throw new Error(message);
}
