import type { Command } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { topicsFor } from '../../publish/topics.js';
import { watchLabels } from '../../publish/watch.js';
import { maskSecrets } from '../../config/secrets.js';

export const command: Command = {
  name: 'watch',
  help: `Usage: avscene watch [--url mqtt://HOST:PORT] [--device ID|+] [--json] [--config FILE]

Subscribes to <prefix>/<device>/scene and prints one line per window: label, confidence, runner-up, modalities.
Broker, prefix and credentials come from the configuration (mqtt.*); --url and --device override them.

Options:
      --url URL         broker URL (default: mqtt.url, or the embedded broker's mqtt://127.0.0.1:<mqtt.embeddedPort>)
      --device ID       device to watch; + for every device (default: +)
      --json            print the raw JSON payloads
${configOptionsHelp}`,
  options: { ...configOptions, url: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' } },
  async run(values) {
    const { config } = loadConfigFromFlags(values);
    const url =
      (values.url as string | undefined) ?? (config.mqtt.url || `mqtt://127.0.0.1:${config.mqtt.embeddedPort}`);
    const topic = topicsFor(config.mqtt.topicPrefix, (values.device as string | undefined) ?? '+').scene;
    console.error(`watching ${topic} on ${maskSecrets(url)} (Ctrl-C to stop)`);
    const close = await watchLabels({
      url,
      topic,
      access: config.mqtt,
      json: Boolean(values.json),
      print: (line) => console.log(line),
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await close();
    return 0;
  },
};
