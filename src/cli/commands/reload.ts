import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { reloadAndWait, reloadDaemons } from '../../bundles/reload.js';

const DEFAULT_TIMEOUT_S = 60;

export const command: Command = {
  name: 'reload',
  help: `Usage: avscene reload [--pid PID [--wait [--timeout S]]]

Tells the running daemon to re-read model.bundle (following a \`current\` link) without a restart: it verifies the
bundle, opens and warms up its sessions beside the running ones, and switches between two windows (no window lost, no
seq gap). If the new bundle fails (corrupt, wrongly signed, out of memory) the daemon keeps the old one and logs why;
its health topic shows the failure. Same as \`systemctl reload avscene\` or \`kill -HUP PID\`.

Reaches: the process given with --pid; else the avscene systemd service when it runs; else the one \`avscene run\`
of this installation (when several run, it lists them and signals none: pick one with --pid).

With --wait (needs --pid; the service's ExecReload runs it, so \`systemctl reload avscene\` waits too) it returns once
the daemon says how the reload it began after the signal ended: exit 0 when the new bundle labels (from the next
window) or model.bundle held the running bundle; exit 1 with the daemon's reason when it refused the bundle, stopped,
or did not finish within the timeout (a daemon waiting for its microphone labels no window, so it never swaps). The
daemon reports through a record in its RAM folder (/run/avscene under systemd): no broker or HTTP endpoint needed.

Options:
      --pid PID       the daemon's process id
      --wait          wait for the reload's outcome
      --timeout S     with --wait: give up after S seconds (default ${DEFAULT_TIMEOUT_S})`,
  options: { pid: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' } },
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const pid = values.pid === undefined ? undefined : Number(values.pid);
    if (pid !== undefined && (!Number.isInteger(pid) || pid <= 1))
      throw new UsageError(`--pid must be a process id, got ${values.pid}`);
    if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout goes with --wait');
    if (!values.wait) {
      const outcome = await reloadDaemons(pid === undefined ? [] : [pid]);
      console.log(outcome.message);
      return outcome.via === 'none' ? 1 : 0;
    }
    if (pid === undefined)
      throw new UsageError('--wait needs --pid PID (systemctl reload avscene waits by itself: its ExecReload does)');
    const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 86_400)
      throw new UsageError(`--timeout must be seconds between 0 and 86400, got ${values.timeout}`);
    const result = await reloadAndWait(pid, timeoutS * 1000);
    if (result.outcome === 'refused') {
      console.error(`the daemon (pid ${pid}) refused the bundle and keeps the running one: ${result.error}`);
      return 1;
    }
    console.log(
      result.outcome === 'swapped'
        ? `the daemon (pid ${pid}) swapped bundles: the new one labels`
        : `the daemon (pid ${pid}) found nothing to change: model.bundle holds the running bundle`,
    );
    return 0;
  },
};
