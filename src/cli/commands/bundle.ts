import path from 'node:path';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, loadConfigFromFlags, SERVICE_CONFIG } from '../config-flags.js';
import { createLogger } from '../../log/logger.js';
import { BundleStore, bundlesDirFor, signatureOf, signatureText } from '../../bundles/store.js';
import { reloadDaemons } from '../../bundles/reload.js';
import { liveDaemons, waitForHandOver, type DaemonRecord } from '../../bundles/daemon-record.js';
import { openWarm } from '../../inference/warm-up.js';
import type { Bundle } from '../../inference/index.js';
import { bundleStatus, formatStatus, inventoryLines } from '../../bundles/status.js';

const DEFAULT_KEEP = 3;
const DEFAULT_TIMEOUT_S = 300;

export const command: Command = {
  name: 'bundle',
  help: `Usage: avscene bundle install DIR|FILE.tar.gz [options]
       avscene bundle rollback [options]
       avscene bundle list [options]
       avscene bundle status [--json | --inventory] [options]

Manages the bundles directory of a device: one folder per bundle (<name>-<version>) and a \`current\` link that
model.bundle points at (e.g. /var/lib/avscene/bundles/current).

  install   verifies the bundle (files and SHA-256, signature when model.publicKey is set, its ONNX sessions on one
            test window), copies it in, flips \`current\` atomically, hands it to the daemon running from this
            store and waits until it labels with it (it swaps bundles between two windows without losing one), then
            keeps the newest --keep bundles. When the daemon refuses the bundle (another class list, a signature
            its model.publicKey rejects, sessions that fail) or does not take it within --timeout, \`current\` goes
            back to the previous bundle, the new one is removed, and the command fails with the daemon's reason
  rollback  points \`current\` back at the bundle active before this one (skipping bundles rolled back from) and
            waits for the running daemon to take it, as install does
  list      shows the installed bundles, oldest first; * marks the active one
  status    what \`current\` names, what the daemons running from the store label with (and how their last reload
            ended), and the current label's age (from the HTTP endpoint when it is on); --inventory prints it as
            Mender inventory attributes (the package's /usr/share/mender/inventory/mender-inventory-avscene)

Options:
      --dir DIR          bundles directory (default: the folder of model.bundle when it ends in /current,
                         else /var/lib/avscene/bundles)
      --keep N           bundles kept after an install, the active one included (default ${DEFAULT_KEEP})
      --public-key FILE  Ed25519 public key the bundle must be signed with (default: model.publicKey)
      --no-reload        do not signal the daemon (it loads the bundle when it next starts)
      --pid PID          signal this daemon process (default: the daemons running from this store, else the avscene
                         service, else the one \`avscene run\`)
      --timeout S        seconds the running daemon gets to take the bundle (default ${DEFAULT_TIMEOUT_S}; its sessions are
                         opened and warmed up beside the running ones, TensorRT engines built on first use)
      --json             list, status: JSON instead of text
      --inventory        status: name=value lines (avscene_version, avscene_bundle_version, …) for Mender
  -c, --config FILE      configuration to read model.bundle and model.publicKey from (default ${SERVICE_CONFIG}
                         when it exists)
      --set KEY=VALUE    set one configuration key (repeatable)

Examples:
  sudo avscene bundle install street-av-2.1.0.tar.gz
  sudo avscene bundle rollback
  avscene bundle list --dir /var/lib/avscene/bundles`,
  options: {
    ...configOptions,
    dir: { type: 'string' },
    keep: { type: 'string' },
    'public-key': { type: 'string' },
    'no-reload': { type: 'boolean' },
    pid: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    inventory: { type: 'boolean' },
  },
  async run(values, positionals) {
    const [action, source, ...extra] = positionals;
    if (!action || !['install', 'rollback', 'list', 'status'].includes(action)) {
      throw new UsageError(
        `say what to do: avscene bundle install DIR|FILE.tar.gz, bundle rollback, bundle list or bundle status (got ${action ?? 'nothing'})`,
      );
    }
    if (action === 'install' && !source)
      throw new UsageError('bundle install needs the bundle: a directory with bundle.json, or a .tar.gz of one');
    if ((action !== 'install' && source) || extra.length > 0)
      throw new UsageError(`unexpected argument ${action === 'install' ? extra[0] : source}`);
    const { config } = loadConfigFromFlags(values, {}, { requireBundle: false, serviceDefault: true });
    const store = new BundleStore(
      path.resolve((values.dir as string | undefined) ?? bundlesDirFor(config.model.bundle)),
    );
    const publicKey = (values['public-key'] as string | undefined) ?? (config.model.publicKey || undefined);

    if (action === 'list') return list(store, Boolean(values.json), publicKey);
    if (action === 'status') {
      const status = await bundleStatus(store, config);
      const lines = values.inventory
        ? inventoryLines(status)
        : values.json
          ? [JSON.stringify(status, null, 2)]
          : formatStatus(status, store.root);
      console.log(lines.join('\n'));
      return 0;
    }

    const keep = values.keep === undefined ? DEFAULT_KEEP : Number(values.keep);
    if (!/^\d+$/.test(String(values.keep ?? DEFAULT_KEEP)) || keep < 2)
      throw new UsageError(
        `--keep must be a whole number of at least 2 (the active bundle and one to roll back to), got ${values.keep}`,
      );
    const pids = values.pid === undefined ? [] : [parsePid(values.pid as string)];
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!(timeoutS > 0)) throw new UsageError(`--timeout must be a number of seconds above 0, got ${values.timeout}`);
    const logger = createLogger('warn', 'avscene-bundle', 2);
    // Daemons labelling from this store (their record in it): the new `current` stays only once they took it.
    const daemons = values['no-reload']
      ? []
      : (await liveDaemons(store.root)).filter((d) => pids.length === 0 || pids.includes(d.pid));
    const handOver = daemons.length > 0 ? new HandOver(store.root, daemons, timeoutS * 1000) : undefined;

    if (action === 'install') {
      const check = async (bundle: Bundle): Promise<void> => {
        // On the CPU: what can go wrong with the graphs shows there, without building TensorRT engines on the device.
        const { engine } = await openWarm(bundle, { providers: 'cpu', threads: config.inference.threads, logger });
        await engine.close();
      };
      const r = await store
        .install(source!, {
          keep,
          publicKey,
          check,
          maxBytes: config.model.maxBundleMB * 2 ** 20,
          handOver: handOver?.run,
        })
        .catch((err: unknown) => handOver?.failed(err) ?? Promise.reject(err));
      const m = r.bundle.manifest;
      const signature = signatureText(r.bundle.signed ? 'verified' : await signatureOf(r.bundle.dir));
      console.log(
        `${r.reused ? 'activated already installed' : 'installed'} ${m.name} ${m.version} (sha256 ${r.bundle.sha256.slice(0, 12)}, ${signature}) in ${path.join(store.root, r.dir)}`,
      );
      console.log(
        `${store.currentLink} -> ${r.dir}${r.previous && r.previous !== r.dir ? ` (was ${r.previous}; \`avscene bundle rollback\` returns to it)` : ''}`,
      );
      if (r.removed.length > 0) console.log(`removed older bundles (--keep ${keep}): ${r.removed.join(', ')}`);
    } else {
      const r = await store
        .rollback(publicKey, handOver?.run)
        .catch((err: unknown) => handOver?.failed(err) ?? Promise.reject(err));
      console.log(`${store.currentLink} -> ${r.to} (was ${r.from})`);
    }
    if (daemons.length > 0)
      console.log(`the running daemon (pid ${daemons.map((d) => d.pid).join(', ')}) labels with it`);
    else if (!values['no-reload']) console.log((await reloadDaemons(pids)).message);
    return 0;
  },
};

/** Hands a bundle that `current` names now to the daemons running from the store (SIGHUP) and waits for them. */
class HandOver {
  private refused = false;

  constructor(
    private readonly storeRoot: string,
    private readonly daemons: DaemonRecord[],
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once each daemon labels with the bundle; throws the daemon's reason when one did not take it. */
  readonly run = async (bundle: Bundle): Promise<void> => {
    const since = Date.now();
    try {
      await reloadDaemons(this.daemons.map((d) => d.pid));
      await waitForHandOver({
        storeRoot: this.storeRoot,
        daemons: this.daemons,
        sha256: bundle.sha256,
        since,
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      this.refused = true;
      throw err;
    }
  };

  /**
   * After a failed hand-over the store has pointed `current` back at the previous bundle: one more reload brings back
   * a daemon that takes the refused bundle after the timeout (it prepares `current` again); one that kept the previous
   * bundle finds nothing to swap. Rethrows.
   */
  async failed(err: unknown): Promise<never> {
    if (this.refused) await reloadDaemons(this.daemons.map((d) => d.pid)).catch(() => undefined);
    throw err;
  }
}

async function list(store: BundleStore, json: boolean, publicKey?: string): Promise<number> {
  await store.requireRoot();
  const bundles = await store.list(publicKey);
  if (json) {
    console.log(JSON.stringify(bundles, null, 2));
    return 0;
  }
  if (bundles.length === 0) {
    console.log(`no bundles in ${store.root} (install one with avscene bundle install DIR|FILE.tar.gz)`);
    return 0;
  }
  const width = Math.max(...bundles.map((b) => b.dir.length));
  for (const b of bundles) {
    const what = b.manifest ? `${b.manifest.name} ${b.manifest.version}` : b.problem;
    const when = b.installedAt
      ? `installed ${b.installedAt}${b.rolledBack ? ', rolled back' : ''}`
      : 'not installed by bundle install';
    console.log(`${b.active ? '*' : ' '} ${b.dir.padEnd(width)}  ${what}  ${signatureText(b.signature)}  ${when}`);
  }
  return 0;
}

function parsePid(text: string): number {
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 1) throw new UsageError(`--pid must be a process id, got ${text}`);
  return pid;
}
