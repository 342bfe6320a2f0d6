import test from 'ava';
import { exec, type Exec } from '../../common/exec.js';
import type { Finding } from '../../common/findings.js';
import { KernelEvents, IP_MONITOR, type KernelChange } from '../../agent/watch/kernel-events.js';
import { DriftWatcher, type FindingsDiff } from '../../agent/watch/drift-watcher.js';
import { checkFindings } from '../../agent/watch/check.js';
import { MODULES } from '../../agent/modules/index.js';
import { Netns, waitFor } from '../helpers/procs.js';
import { ctxFor } from '../helpers/fake-ctx.js';

/**
 * The watch against a real kernel: `ip monitor` in a network namespace of this test (run under
 * the integration lock), its events, its restart, and a drift finding that appears and resolves
 * on a kernel event alone (the interval is an hour).
 */
const netns = new Netns(`lvst-dw-${process.pid}`);
const stops: (() => Promise<void>)[] = [];
test.after.always(async () => {
  for (const s of stops) await s();
  await netns.destroy();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The monitor listens once its netlink socket in the namespace has joined multicast groups. */
async function listening(short: string, pid: number): Promise<true | undefined> {
  const table = (await netns.run(short, ['cat', '/proc/net/netlink'])).stdout;
  // sk Eth Pid Groups ...: protocol 0 is NETLINK_ROUTE; the port id of a process's first socket is its pid.
  return table.split('\n').some((l) => {
    const [, eth, port, groups] = l.trim().split(/\s+/);
    return eth === '0' && Number(port) === pid && /[1-9a-f]/.test(groups ?? '0');
  })
    ? true
    : undefined;
}

/** Every `ip` the modules run goes into the namespace (`ip -n NS ...`). */
const inNetns =
  (ns: string): Exec =>
  (file, args, opts) =>
    file === 'ip' ? exec('ip', ['-n', ns, ...args], opts) : exec(file, args, opts);

test('ip monitor in a namespace: an address added is an event; killed, it restarts; stopped, it is gone', async (t) => {
  const ns = await netns.add('mon');
  const changes: KernelChange[] = [];
  const events = new KernelEvents({
    command: { file: 'ip', args: ['-n', ns, ...IP_MONITOR.args] },
    debounceMs: 50,
    backoff: { minMs: 100, maxMs: 1000 },
    onChange: (c) => changes.push(c),
  });
  stops.push(() => events.stop());
  events.start();
  const first = events.pid!;
  await waitFor('ip monitor listening', () => listening('mon', first), 10_000, 50);

  await netns.run('mon', ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'lo']);
  const seen = await waitFor('the address event', async () => changes.find((c) => c.reason === 'kernel' && c.lines.some((l) => l.includes('10.77.0.1/24'))), 10_000, 50);
  t.regex(seen.lines.join('\n'), /lo\s+inet 10\.77\.0\.1\/24/);

  process.kill(first, 'SIGKILL');
  const second = await waitFor('a new monitor', async () => (events.pid !== undefined && events.pid !== first ? events.pid : undefined), 10_000, 50);
  t.is(events.starts, 2);
  t.true(changes.some((c) => c.reason === 'restart'));
  await waitFor('the new monitor listening', () => listening('mon', second), 10_000, 50);
  const before = changes.length;
  await netns.run('mon', ['ip', 'link', 'set', 'lo', 'down']);
  await waitFor('the link event', async () => (changes.slice(before).some((c) => c.lines.some((l) => /\blo\b/.test(l))) ? true : undefined), 10_000, 50);

  await events.stop();
  await waitFor('the monitor gone', async () => (alive(second) ? undefined : true), 5000, 50);
  t.false(alive(first));
});

test('a VIP deleted by hand is a finding at once on the kernel event, and resolves when put back', async (t) => {
  const ns = await netns.add('vip');
  await netns.run('vip', ['ip', 'addr', 'add', '10.77.1.200/32', 'dev', 'lo', 'label', 'lo:0']);
  const tasks = [{ name: 'VIP on lo:0', role: 'lvs-realserver-dr', module: 'address', args: { address: '10.77.1.200/32', device: 'lo:0' } }];
  const diffs: FindingsDiff[] = [];
  const watcher = new DriftWatcher({
    // Only the kernel event can trigger a check within this test.
    intervalMs: 3_600_000,
    debounceMs: 50,
    check: () => checkFindings(tasks, MODULES, ctxFor('/nonexistent', { exec: inNetns(ns) })),
    onDiff: (d) => diffs.push(d),
    onError: (e) => t.log(`check failed: ${e.message}`),
  });
  const events = new KernelEvents({ command: { file: 'ip', args: ['-n', ns, ...IP_MONITOR.args] }, onChange: () => watcher.kick() });
  stops.push(() => events.stop(), () => watcher.stop());
  events.start();
  await waitFor('ip monitor listening', () => listening('vip', events.pid!), 10_000, 50);
  watcher.start();
  await waitFor('the first check', async () => diffs[0], 10_000, 50);
  t.deepEqual(diffs[0].all, [], 'converged at start');

  await netns.run('vip', ['ip', 'addr', 'del', '10.77.1.200/32', 'dev', 'lo']);
  const found = await waitFor('the finding', async () => diffs.find((d) => d.appeared.length), 10_000, 50);
  t.deepEqual(found.appeared.map((f: Finding) => [f.field, f.text]), [['10.77.1.200 on lo', '10.77.1.200/32 missing on lo']]);

  await netns.run('vip', ['ip', 'addr', 'add', '10.77.1.200/32', 'dev', 'lo', 'label', 'lo:0']);
  const resolved = await waitFor('the resolution', async () => diffs.find((d) => d.resolved.length), 10_000, 50);
  t.deepEqual(resolved.resolved.map((f: Finding) => f.field), ['10.77.1.200 on lo']);
  t.deepEqual(watcher.findings(), []);
});
