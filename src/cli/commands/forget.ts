import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { DeviceOnlineError, forgetDevice } from '../../publish/forget.js';
import { maskSecrets } from '../../config/secrets.js';
import { EXIT_FAILURE } from '../../util/exit-codes.js';

export const command: Command = {
  name: 'forget',
  help: `Usage: avscene forget ID [--url mqtt://HOST:PORT] [--force] [--config FILE]

Removes a retired device from the broker: clears its retained topics (<prefix>/ID/status, info, scene, label,
health) and its Home Assistant discovery configs with an empty retained message each, so fleet views and Home
Assistant stop listing it. Prints each topic it cleared. Broker, prefixes and credentials come from the configuration
(mqtt.*); --url overrides the broker. A device.id changed in a running daemon's configuration needs no forget: the
daemon clears its old id itself.

Options:
      --url URL         broker URL (default: mqtt.url, or the embedded broker's mqtt://127.0.0.1:<mqtt.embeddedPort>)
      --force           clear even while the device says online (its daemon would publish again)
${configOptionsHelp}`,
  options: { ...configOptions, url: { type: 'string' }, force: { type: 'boolean' } },
  async run(values, positionals) {
    const [deviceId, extra] = positionals;
    if (!deviceId) throw new UsageError('say which device to forget: avscene forget ID');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    const { config } = loadConfigFromFlags(values);
    const url =
      (values.url as string | undefined) ?? (config.mqtt.url || `mqtt://127.0.0.1:${config.mqtt.embeddedPort}`);
    try {
      const cleared = await forgetDevice({
        url,
        access: config.mqtt,
        topicPrefix: config.mqtt.topicPrefix,
        discoveryPrefix: config.mqtt.discoveryPrefix,
        deviceId,
        force: Boolean(values.force),
      });
      for (const topic of cleared) console.log(`cleared ${topic}`);
      console.error(
        cleared.length > 0
          ? `forgot ${deviceId}: ${cleared.length} retained topic(s) cleared on ${maskSecrets(url)}`
          : `nothing retained for ${deviceId} on ${maskSecrets(url)}`,
      );
      return 0;
    } catch (err) {
      if (!(err instanceof DeviceOnlineError)) throw err;
      console.error(`avscene forget: ${err.message}`);
      return EXIT_FAILURE;
    }
  },
};
