import test from 'ava';
import { release } from 'node:os';
import { probeController } from '../../lab/controller.js';
import { LAB_HOST_NAMES } from '../../lab/topology.js';
import { startTestLab, stopTestLab, type TestLab } from '../helpers/lab.js';

// One real-kernel guest (Debian's kernel under qemu TCG) for the whole file; see test/helpers/lab.ts
// for which lab this is and why an operator's lab is never touched.
let lab: TestLab | undefined;
let bootError: unknown;

test.before(async (t) => {
  try {
    lab = await startTestLab({ log: (m) => t.log(m) });
    t.log(`lab ${lab.up.reused ? 'reused' : 'booted'}: kernel ${lab.up.kernel}, controller ${lab.url}`);
  } catch (e) {
    bootError = e;
  }
});

test.after.always(async () => {
  await stopTestLab();
});

function theLab(): TestLab {
  if (!lab) throw new Error(`the lab did not come up: ${(bootError as Error)?.message ?? bootError}`);
  return lab;
}

test.serial('the lab boots the real kernel with IPVS, and all four agents report its version', async (t) => {
  const l = theLab();
  const uname = (await l.run('guest', ['uname', '-r'])).stdout.trim();
  t.regex(uname, /^6\.1\./);
  t.not(uname, release(), 'the guest runs its own kernel, not the host one');
  t.is(uname, l.up.kernel);

  // Facts can follow the agent's "online" by a moment: wait for each agent's kernel fact.
  let kernels: Record<string, string | undefined> = {};
  for (let i = 0; i < 240; i++) {
    const p = await probeController(Number(new URL(l.url).port), l.token);
    if (p.kind === 'ours') {
      kernels = Object.fromEntries(p.agents.filter((a) => a.online).map((a) => [a.name, a.facts?.os?.kernel]));
      if (LAB_HOST_NAMES.every((n) => kernels[n])) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const n of LAB_HOST_NAMES) t.is(kernels[n], uname, `agent ${n} reports the guest kernel`);

  if (l.up.reused) await l.run('server2', ['ipvsadm', '-C']);
  const ipvs = await l.run('server2', ['ipvsadm', '-ln']);
  t.regex(ipvs.stdout, /^IP Virtual Server version/m);
  t.notRegex(ipvs.stdout, /^(TCP|UDP|SCTP|FWM)\s/m, 'the table is empty');
});

test.serial('DR mode configured by hand through the command channel balances round-robin', async (t) => {
  const l = theLab();
  const vip = '172.25.7.200';
  // Director: VIP alias on eth0, virtual service, two real servers by direct routing.
  await l.run('server2', ['ip', 'addr', 'replace', `${vip}/24`, 'dev', 'eth0', 'label', 'eth0:0']);
  await l.run('server2', ['ipvsadm', '-C']);
  await l.run('server2', ['ipvsadm', '-A', '-t', `${vip}:80`, '-s', 'rr']);
  for (const rs of ['172.25.7.3', '172.25.7.4']) {
    await l.run('server2', ['ipvsadm', '-a', '-t', `${vip}:80`, '-r', `${rs}:80`, '-g']);
  }
  // Real servers: VIP on lo, no ARP for it, a web server with a marker page.
  for (const host of ['server3', 'server4']) {
    const root = `/run/lab/roots/${host}`;
    await l.run(host, ['ip', 'addr', 'replace', `${vip}/32`, 'dev', 'lo', 'label', 'lo:0']);
    await l.run(host, [
      'sysctl', '-w',
      'net.ipv4.conf.lo.arp_ignore=1', 'net.ipv4.conf.lo.arp_announce=2',
      'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2',
    ]);
    await l.run(host, ['tee', `${root}/var/www/html/index.html`], { input: `${host}\n` });
    await l.run(host, [`${root}/etc/init.d/httpd`, 'restart']);
    const st = await l.exec(host, [`${root}/etc/init.d/httpd`, 'status']);
    t.is(st.code, 0, `httpd runs on ${host}: ${st.stdout}`);
  }

  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await l.run('client', ['curl', '-s', '-m', '10', `http://${vip}/`]);
    seen.push(r.stdout.trim());
  }
  t.log(seen.join(' '));
  t.deepEqual([...new Set(seen)].sort(), ['server3', 'server4']);
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `request ${i + 1} went to the other real server`);

  const table = (await l.run('server2', ['ipvsadm', '-ln'])).stdout;
  t.regex(table, new RegExp(`^TCP\\s+${vip.replace(/\./g, '\\.')}:80 rr`, 'm'));
  t.regex(table, /->\s+172\.25\.7\.3:80\s+Route\s/);
  t.regex(table, /->\s+172\.25\.7\.4:80\s+Route\s/);
});
