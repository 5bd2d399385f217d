import type { Command } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { createLogger } from '../../log/logger.js';
import { Daemon, SHUTDOWN_BUDGET_MS } from '../../daemon/daemon.js';
import { createDaemonParts, daemonEngineOptions } from '../../daemon/factory.js';
import { watchLabels } from '../../publish/watch.js';
import { EXIT_FAILURE } from '../../util/exit-codes.js';
import { captureSampleRate } from '../../capture/index.js';
import type { SampleRatePolicy } from '../../inference/index.js';

export const command: Command = {
  name: 'run',
  help: `Usage: avscene run [--config FILE] [--set KEY=VALUE …] [--watch]

Runs the daemon: captures 1-second audio windows (and the center video frame of each), classifies them with the model
bundle and publishes one message per window on <prefix>/<device.id>/scene over MQTT.
Without configuration it runs the embedded default: the bundled demo clip, the demo bundle and an embedded broker
on 127.0.0.1:1883. Stops cleanly on SIGINT/SIGTERM (the window in flight is finished and published).

Options:
${configOptionsHelp}
      --watch           also subscribe to the broker and print every label it delivers (shows the whole path works)

Examples:
  avscene run
  avscene run --config /etc/avscene/config.json
  AVSCENE_MQTT_URL=mqtt://broker.local avscene run --set audio.source=alsa --set audio.device=plughw:1,0`,
  options: { ...configOptions, watch: { type: 'boolean' } },
  async run(values) {
    const loaded = loadConfigFromFlags(values);
    const { config } = loaded;
    const logger = createLogger(config.log.level);
    logger.debug({ config: loaded.printable() }, 'effective configuration');
    let daemon: Daemon | undefined;
    let stopSignal: string | undefined;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        daemon?.stop(signal);
        if (stopSignal) return;
        stopSignal = signal;
        // Whatever hangs (a TensorRT engine still being built at start-up, a camera read stuck in FFmpeg), the process
        // is gone within the budget; the broker then publishes `offline` through the last will.
        setTimeout(() => {
          logger.error(`shutdown did not finish within ${SHUTDOWN_BUDGET_MS / 1000} s of ${signal}: exiting now`);
          process.exit(EXIT_FAILURE);
        }, SHUTDOWN_BUDGET_MS - 200).unref();
      });
    }
    // SIGHUP (systemctl reload, avscene reload, bundle install): swap to the bundle model.bundle names now. Handled from
    // the start, since Node.js would exit on it; one during start-up is applied once the daemon exists.
    let reloadRequested = false;
    process.on('SIGHUP', () => {
      if (daemon) daemon.reload();
      else reloadRequested = true;
    });
    const parts = await createDaemonParts(config, logger);
    const swap = {
      bundle: config.model.bundle,
      publicKey: config.model.publicKey,
      engine: daemonEngineOptions(config, logger),
      captureRate: captureSampleRate(config.audio),
      sampleRateMismatch: config.model.sampleRateMismatch as SampleRatePolicy,
    };
    daemon = new Daemon(parts, { deviceId: config.device.id, queueDepth: config.inference.queue, logger, swap });
    if (reloadRequested) daemon.reload();
    // A signal while the parts were built (the engine takes a while): start nothing that waits, stop at once.
    if (stopSignal) daemon.stop(stopSignal);
    let stopWatching: (() => Promise<void>) | undefined;
    const { mqtt } = parts;
    try {
      return await daemon.run(
        values.watch
          ? async () => {
              stopWatching = await watchLabels({
                url: mqtt.url,
                topic: mqtt.topics.scene,
                access: config.mqtt,
                print: (line) => console.log(line),
              });
            }
          : undefined,
      );
    } finally {
      await stopWatching?.();
    }
  },
};
