/**
 * The .deb under a real systemd 252 (test/helpers/systemd-sandbox.ts), installed as a device image is built: `dpkg -i`
 * in a chroot before systemd runs. One boot, checked as systemd sees it, in this order:
 *   enabled at first boot; started with the shipped configuration and no microphone, `systemctl start` returns at once
 *   and STATUS=, /readyz and /healthz say what it waits for, while the watchdog (lowered to 3 s by a drop-in) keeps
 *   it running; the journal under `-t avscene` with priorities (`-p err` holds the microphone error, not the info
 *   lines); with a file source: labels on a broker inside the sandbox, /healthz ok, a reload framed by RELOADING=1 …
 *   READY=1 that swaps the bundle, `systemctl reload` failing on a bundle the daemon refuses, a SIGSTOPped daemon restarted by the watchdog, a clean stop; no ONNX Runtime
 *   telemetry id written; purge leaves only the avscene user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtDeb } from '../helpers/deb.js';
import { demoVersion } from '../helpers/bundles.js';
import { sandboxUnavailable, withSandbox, type Sandbox } from '../helpers/systemd-sandbox.js';

const skip = sandboxUnavailable();

/** Polls a command inside until `done` holds for its stdout (trimmed); fails with the last output after `timeoutMs`. */
async function until(sbx: Sandbox, command: string, done: (out: string) => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await sbx.exec(command)).stdout.trim();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${timeoutMs} ms passed before ${what}; last: ${last}\n${await journal(sbx)}`);
}

const journal = async (sbx: Sandbox) => (await sbx.exec('journalctl -u avscene --no-pager -o cat | tail -n 30')).stdout;
const show = async (sbx: Sandbox, prop: string) => (await sbx.sh(`systemctl show -p ${prop} --value avscene`)).trim();

const FILE_CONFIG = JSON.stringify({
  device: { id: 'sbx-1' },
  audio: { source: 'file', file: '/opt/avscene/deploy/demo/acoustic_scene.wav', loop: true },
  sources: { realtime: true },
  video: { source: 'none' },
  model: { bundle: '/var/lib/avscene/bundles/current' },
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
});

test('the image-built package under a real systemd', { skip: skip ?? false, timeout: 600_000 }, async (t) => {
  const share = mkdtempSync(path.join(os.tmpdir(), 'avscene-sbx-share-'));
  demoVersion(share, '1.0.1', 'demo-next');
  // Two classes swapped: passes bundle install's checks, refused by the daemon (a hot swap keeps the class list).
  const reordered = path.join(demoVersion(share, '1.0.2', 'demo-reordered'), 'bundle.json');
  const manifest = JSON.parse(readFileSync(reordered, 'utf8')) as { classes: string[] };
  [manifest.classes[0], manifest.classes[1]] = [manifest.classes[1]!, manifest.classes[0]!];
  writeFileSync(reordered, JSON.stringify(manifest, null, 2) + '\n');
  const setup = `
    mkdir -p "$1/etc/systemd/system/avscene.service.d"
    printf '[Service]\\nWatchdogSec=3s\\n' > "$1/etc/systemd/system/avscene.service.d/test-watchdog.conf"
  `;
  t.after(() => rmSync(share, { recursive: true, force: true }));
  await withSandbox({ debs: [builtDeb()], share, setup }, async (sbx) => {
    await t.test('installed in a chroot, the unit is enabled for the first boot', async () => {
      assert.equal((await sbx.exec('systemctl is-enabled avscene')).stdout.trim(), 'enabled');
      assert.match(sbx.imageLog, /avscene: the service is enabled and starts at the next boot; first set device\.id/);
      assert.ok((await sbx.exec('id avscene')).status === 0, 'the avscene user exists');
      assert.match(await sbx.sh('readlink -f /var/lib/avscene/bundles/current'), /demo-audio/);
    });

    await t.test('without a microphone it starts at once and says what it waits for', async () => {
      const t0 = Date.now();
      await sbx.sh('systemctl start avscene', { timeoutMs: 60_000 });
      const startS = (Date.now() - t0) / 1000;
      assert.ok(startS < 30, `systemctl start took ${startS} s`);
      assert.equal(await show(sbx, 'ActiveState'), 'active');
      const status = await until(
        sbx,
        'systemctl show -p StatusText --value avscene',
        (s) => s.includes('waiting for microphone plughw:1,0'),
        20_000,
        'STATUS= names the missing microphone',
      );
      assert.match(status, /retry(ing now| in \d+ s)/);
      const ready = await sbx.exec('curl -s -w " %{http_code}" http://127.0.0.1:8766/readyz');
      assert.match(ready.stdout, /^unavailable: waiting for microphone plughw:1,0.* 503$/s);
      const health = await sbx.exec('curl -s -w " %{http_code}" http://127.0.0.1:8766/healthz');
      assert.match(health.stdout, /^degraded: waiting for microphone plughw:1,0.* 200$/s);
      // The 4th attempt (logged: attempts 1, 2, 4, 8 …) comes 1 + 2 + 4 s after the first, more than two 3-s watchdog
      // periods: the daemon still runs, since retrying with backoff is no reason for systemd to restart it.
      const pid = await show(sbx, 'MainPID');
      await until(
        sbx,
        'journalctl -t avscene -o cat | grep -c "ALSA capture.*attempt 4" || true',
        (n) => n === '1',
        30_000,
        'the 4th capture attempt',
      );
      assert.equal(await show(sbx, 'MainPID'), pid, 'not restarted');
      assert.equal(await show(sbx, 'NRestarts'), '0');
    });

    await t.test('the journal knows it as avscene, with priorities', async () => {
      const all = await sbx.sh('journalctl -t avscene -o cat --no-pager');
      assert.match(all, /avscene running/);
      const errors = await sbx.sh('journalctl -t avscene -p err -o cat --no-pager');
      assert.match(errors, /ALSA capture from \\"plughw:1,0\\" stopped/);
      assert.doesNotMatch(errors, /avscene running/, 'info lines are not errors');
      const priorities = await sbx.sh(
        'journalctl -t avscene -o json --no-pager | grep -o \'"PRIORITY":"[0-9]"\' | sort -u',
      );
      assert.match(priorities, /"PRIORITY":"3"/);
      assert.match(priorities, /"PRIORITY":"6"/);
      assert.doesNotMatch(
        await sbx.sh('journalctl -u avscene -o cat --no-pager'),
        /^<\d>/m,
        'journald strips the prefix',
      );
    });

    await t.test('with a file source: labels on MQTT, /healthz, a reload framed by RELOADING=1 … READY=1', async () => {
      await sbx.sh('systemd-run --unit=test-broker /usr/sbin/mosquitto -p 1883');
      await sbx.sh(`cat > /etc/avscene/config.json <<'EOF'\n${FILE_CONFIG}\nEOF\nsystemctl restart avscene`, {
        timeoutMs: 60_000,
      });
      const labels = await sbx.sh('mosquitto_sub -h 127.0.0.1 -t avscene/sbx-1/scene -C 3 -W 60', {
        timeoutMs: 70_000,
      });
      const seqs = labels
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      assert.equal(seqs.length, 3);
      const health = await sbx.exec('curl -s -w " %{http_code}" http://127.0.0.1:8766/healthz');
      assert.match(health.stdout, /^ok: last window .* 200$/s, await journal(sbx));

      // SIGHUP straight to the daemon (as `avscene reload` and `bundle install` send it): only its own RELOADING=1
      // and READY=1 move the unit to reloading and back.
      await sbx.sh(
        'runuser -u avscene -- /usr/bin/avscene bundle install /srv/share/demo-next --config /etc/avscene/config.json --no-reload',
      );
      const states = await sbx.sh(
        `systemctl kill -s HUP --kill-who=main avscene
         for i in $(seq 300); do systemctl show -p ActiveState --value avscene; sleep 0.02; done | uniq | tr '\\n' ' '`,
      );
      assert.match(states, /reloading .*active/, `ActiveState during the reload: ${states}`);
      await until(
        sbx,
        'journalctl -t avscene -o cat | grep -c "model bundle swapped" || true',
        (n) => n === '1',
        30_000,
        'the swap',
      );
      assert.equal(await show(sbx, 'ActiveState'), 'active');

      // systemctl reload (ExecReload: avscene reload --wait) returns with the daemon's outcome, in the unit's sandbox:
      // success when model.bundle holds the running bundle, failure with the daemon's reason when it refuses one.
      const same = await sbx.exec('systemctl reload avscene');
      assert.equal(same.status, 0, `${same.stderr}\n${await journal(sbx)}`);
      await sbx.sh(
        'runuser -u avscene -- /usr/bin/avscene bundle install /srv/share/demo-reordered --config /etc/avscene/config.json --no-reload',
      );
      const refused = await sbx.exec('systemctl reload avscene');
      assert.notEqual(refused.status, 0, `systemctl reload with a refused bundle: ${refused.stdout}${refused.stderr}`);
      assert.match(
        await journal(sbx),
        /refused the bundle and keeps the running one: .*its classes \[.*\] differ from the running bundle's/,
      );
      assert.equal(await show(sbx, 'ActiveState'), 'active');
      await sbx.sh(
        'runuser -u avscene -- /usr/bin/avscene bundle rollback --config /etc/avscene/config.json --no-reload',
      );
    });

    await t.test('the watchdog restarts a frozen daemon; stop is clean', async () => {
      const pid = await show(sbx, 'MainPID');
      assert.match(pid, /^[1-9]\d*$/, `a running daemon (MainPID ${pid})`);
      await sbx.sh(`kill -STOP ${pid}`);
      await until(sbx, 'systemctl show -p NRestarts --value avscene', (n) => n === '1', 40_000, 'a restart');
      assert.match(await sbx.sh('journalctl -u avscene -o cat --no-pager'), /Watchdog timeout/);
      await until(sbx, 'systemctl show -p ActiveState --value avscene', (s) => s === 'active', 40_000, 'active again');
      assert.notEqual(await show(sbx, 'MainPID'), pid);
      const t0 = Date.now();
      await sbx.sh('systemctl stop avscene', { timeoutMs: 30_000 });
      assert.ok(Date.now() - t0 < 8000, `stop took ${Date.now() - t0} ms`);
      assert.equal(await show(sbx, 'Result'), 'success');
      assert.match(await sbx.sh('journalctl -t avscene -o cat --no-pager | tail -n 5'), /avscene stopped/);
      assert.equal((await sbx.exec('test -e /var/lib/avscene/.cache')).status, 1, 'no ONNX Runtime telemetry id');
    });

    await t.test('purge leaves only the avscene user', async () => {
      const out = await sbx.sh('dpkg --purge avscene 2>&1');
      assert.match(out, /kept the system user and group avscene/);
      const left = await sbx.exec(
        'ls -d /opt/avscene /etc/avscene /var/lib/avscene /run/avscene /lib/systemd/system/avscene.service /etc/systemd/system/multi-user.target.wants/avscene.service /var/lib/systemd/deb-systemd-helper-enabled/avscene.service.dsh-also 2>/dev/null',
      );
      assert.equal(left.stdout.trim(), '', 'nothing of the package is left');
      assert.equal((await sbx.exec('id avscene')).status, 0, 'the user stays (README § Deploying to a fleet)');
    });
  });
});
