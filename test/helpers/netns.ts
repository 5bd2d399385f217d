/**
 * A network link that can die silently (root only): a network namespace joined to this one by a veth pair. A broker
 * started inside it (startMosquitto's `netns` option) is reached at `nsAddress`; blackhole() takes the namespace's end
 * of the link down, so packets from here vanish without an RST or FIN, as when a cable, Wi-Fi or NAT entry dies: the
 * TCP connection stays open on this side (a half-open link) until keep-alive gives up.
 */
import { execFileSync } from 'node:child_process';

export interface NetnsLink {
  name: string;
  nsAddress: string;
  blackhole(): void;
  restore(): void;
  remove(): void;
}

const run = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const links = new Set<NetnsLink>();
process.on('exit', () => {
  for (const link of links) link.remove();
});

/** `index` (0–250) keeps the addresses of links made by concurrent test files apart. */
export function netnsLink(index: number): NetnsLink {
  const name = `avs-${process.pid}-${index}`;
  const host = `avh${process.pid % 100000}x${index}`.slice(0, 15);
  const peer = `avp${process.pid % 100000}x${index}`.slice(0, 15);
  const subnet = `10.${200 + (process.pid % 50)}.${index}`;
  run('netns', 'add', name);
  run('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  run('link', 'set', peer, 'netns', name);
  run('addr', 'add', `${subnet}.1/30`, 'dev', host);
  run('link', 'set', host, 'up');
  run('netns', 'exec', name, 'ip', 'addr', 'add', `${subnet}.2/30`, 'dev', peer);
  run('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up');
  run('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  const link: NetnsLink = {
    name,
    nsAddress: `${subnet}.2`,
    blackhole: () => run('netns', 'exec', name, 'ip', 'link', 'set', peer, 'down'),
    restore: () => run('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up'),
    remove() {
      if (!links.delete(link)) return;
      try {
        run('link', 'del', host);
      } catch {}
      try {
        run('netns', 'del', name);
      } catch {}
    },
  };
  links.add(link);
  return link;
}
