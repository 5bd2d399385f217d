/**
 * `state.dir`: where the daemon keeps what must outlive a restart (the MQTT outbox, the window counter, what Home
 * Assistant was told). The service uses /var/lib/avscene (its unit sets XDG_STATE_HOME=/var/lib); a user-run daemon
 * defaults to $XDG_STATE_HOME/avscene or ~/.local/state/avscene, so the demo needs no root.
 * (Its own file so the schema stays a table of keys; src/state gets the resolved path from the config.)
 */
import os from 'node:os';
import path from 'node:path';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'avscene');
}
