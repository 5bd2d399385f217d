/** `avscene watch` against a broker that is not there says why and what to check, as the daemon does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';

test("watch against a closed port exits 1 with the daemon's hint, not a bare ECONNREFUSED", async () => {
  const port = await freePort();
  const r = runCli(['watch', '--url', `mqtt://127.0.0.1:${port}`], {}, 30_000);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `cannot connect to the broker at mqtt://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*: nothing listens there: is the broker running`,
    ),
  );
});
