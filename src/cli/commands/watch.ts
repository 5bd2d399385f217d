import { UsageError, type Command } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { topicsFor } from '../../publish/topics.js';
import { watchLabels } from '../../publish/watch.js';
import { maskSecrets, rememberSecretsIn } from '../../config/secrets.js';
import { brokerUrlProblem, DEVICE_ID } from '../../config/formats.js';

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
    const given = values.url as string | undefined;
    if (given !== undefined) {
      rememberSecretsIn(given);
      const problem = given === '' ? 'is empty' : brokerUrlProblem(given);
      if (problem !== null) throw new UsageError(maskSecrets(`--url "${given}" ${problem}`));
    }
    const device = (values.device as string | undefined) ?? '+';
    if (device !== '+' && !DEVICE_ID.test(device))
      throw new UsageError(
        `--device "${device}" is not a device id (letters, digits, "_" and "-", as device.id) nor + for every device`,
      );
    const { config } = loadConfigFromFlags(values);
    const url = given ?? (config.mqtt.url || `mqtt://127.0.0.1:${config.mqtt.embeddedPort}`);
    const topic = topicsFor(config.mqtt.topicPrefix, device).scene;
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
