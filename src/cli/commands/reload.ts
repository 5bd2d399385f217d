import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { reloadDaemons } from '../../bundles/reload.js';

export const command: Command = {
  name: 'reload',
  help: `Usage: avscene reload [--pid PID]

Tells the running daemon to re-read model.bundle (following a \`current\` link) without a restart: it verifies the
bundle, opens and warms up its sessions beside the running ones, and switches between two windows (no window lost, no
seq gap). If the new bundle fails (corrupt, wrongly signed, out of memory) the daemon keeps the old one and logs why;
its health topic shows the failure. Same as \`systemctl reload avscene\` or \`kill -HUP PID\`.

Reaches: the process given with --pid; else the avscene systemd service when it runs; else the one \`avscene run\`
of this installation (when several run, it lists them and signals none: pick one with --pid).

Options:
      --pid PID   the daemon's process id`,
  options: { pid: { type: 'string' } },
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const pid = values.pid === undefined ? undefined : Number(values.pid);
    if (pid !== undefined && (!Number.isInteger(pid) || pid <= 1))
      throw new UsageError(`--pid must be a process id, got ${values.pid}`);
    const outcome = await reloadDaemons(pid === undefined ? [] : [pid]);
    console.log(outcome.message);
    return outcome.via === 'none' ? 1 : 0;
  },
};
