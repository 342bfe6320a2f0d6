import test from 'ava';
import sysctl, { normalize, persistedValue, procPath } from '../../agent/modules/sysctl.js';
import { prepare } from '../../agent/runner.js';
import { ctxFor } from '../helpers/fake-ctx.js';

const args = (a: Record<string, unknown>) => sysctl.schema.parse(a);
const ctx = ctxFor('/');

test('procPath reads keys as sysctl(8) does, including device names with a dot', (t) => {
  t.is(procPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.is(procPath('net.ipv4.conf.tunl0.rp_filter'), '/proc/sys/net/ipv4/conf/tunl0/rp_filter');
  t.is(procPath('net/ipv4/conf/lo/arp_ignore'), '/proc/sys/net/ipv4/conf/lo/arp_ignore');
  // Slash form: dots are literal. Dot form: a slash stands for a dot (as `sysctl -a` prints it).
  t.is(procPath('net/ipv4/conf/eth0.100/rp_filter'), '/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
  t.is(procPath('net.ipv4.conf.eth0/100.rp_filter'), '/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
});

test('persistedValue matches either spelling of the same key, and only that key', (t) => {
  const conf = [
    '# lvs',
    'net.ipv4.ip_forward = 1',
    'net/ipv4/conf/all/rp_filter=0',
    'net.ipv4.conf.eth0/100.rp_filter = 2',
    '; net.ipv4.conf.lo.arp_ignore = 9',
    '-net.ipv4.conf.lo.arp_announce = 2',
    'net.ipv4.conf.eth0.rp_filter = 1',
    '',
  ].join('\n');
  t.is(persistedValue(conf, 'net.ipv4.ip_forward'), '1');
  t.is(persistedValue(conf, 'net.ipv4.conf.all.rp_filter'), '0');
  t.is(persistedValue(conf, 'net/ipv4/conf/eth0.100/rp_filter'), '2');
  t.is(persistedValue(conf, 'net.ipv4.conf.lo.arp_ignore'), null, 'a comment is not a setting');
  t.is(persistedValue(conf, 'net.ipv4.conf.lo.arp_announce'), '2');
  t.is(persistedValue(conf, 'net.ipv4.conf.eth0.rp_filter'), '1', 'eth0 is not eth0.100');
  t.is(persistedValue('net.ipv4.conf.eth0/100.rp_filter = 2\n', 'net.ipv4.conf.eth0.rp_filter'), null);
  t.is(normalize('4096\t87380   6291456\n'), '4096 87380 6291456');
});

test('plan: runtime and persisted values for the DR and TUN keys', (t) => {
  const p = sysctl.plan(args({ name: 'net.ipv4.conf.lo.arp_ignore', value: 1 }), { runtime: '0', persisted: null, fileText: 'kernel.sysrq = 0\n' }, ctx);
  t.deepEqual(p.changes, [
    { kind: 'runtime', value: '1' },
    { kind: 'persist', text: 'kernel.sysrq = 0\nnet.ipv4.conf.lo.arp_ignore = 1\n' },
  ]);
  t.is(p.before, 'runtime: net.ipv4.conf.lo.arp_ignore = 0\n/etc/sysctl.conf: (not set)\n');
  t.is(p.after, 'runtime: net.ipv4.conf.lo.arp_ignore = 1\n/etc/sysctl.conf: net.ipv4.conf.lo.arp_ignore = 1\n');
  const done = sysctl.plan(args({ name: 'net.ipv4.conf.tunl0.rp_filter', value: '0' }), { runtime: '0', persisted: '0', fileText: 'net.ipv4.conf.tunl0.rp_filter = 0\n' }, ctx);
  t.deepEqual(done.changes, []);
});

test('plan: a dotted device key persisted in the other spelling is rewritten in place, not duplicated', (t) => {
  const text = 'net.ipv4.conf.eth0/100.rp_filter = 1\nkernel.sysrq = 0\n';
  const a = args({ name: 'net/ipv4/conf/eth0.100/rp_filter', value: 0 });
  const p = sysctl.plan(a, { runtime: '0', persisted: persistedValue(text, a.name), fileText: text }, ctx);
  t.deepEqual(p.changes, [{ kind: 'persist', text: 'net/ipv4/conf/eth0.100/rp_filter = 0\nkernel.sysrq = 0\n' }]);
});

test('plan: a key the kernel does not have fails with a hint; absent removes the persisted line', (t) => {
  t.throws(() => sysctl.plan(args({ name: 'net.ipv4.conf.eth0.100.rp_filter', value: 0 }), { runtime: null, persisted: null, fileText: null }, ctx), {
    message: /no such kernel parameter \(\/proc\/sys\/net\/ipv4\/conf\/eth0\/100\/rp_filter does not exist; .*net\/ipv4\/conf\/eth0\.100\/rp_filter/,
  });
  const gone = sysctl.plan(args({ name: 'net.ipv4.ip_forward', value: 1, state: 'absent' }), { runtime: '1', persisted: '1', fileText: 'a = 1\nnet.ipv4.ip_forward = 1\n' }, ctx);
  t.deepEqual(gone.changes, [{ kind: 'persist', text: 'a = 1\n' }]);
});

test('read: the runtime value comes from /proc/sys, the persisted one from the file under --root', async (t) => {
  const cur = await sysctl.read(args({ name: 'net.ipv4.ip_forward', value: 1, file: '/nonexistent/sysctl.conf' }), ctx);
  t.regex(cur.runtime ?? '', /^[01]$/);
  t.is(cur.fileText, null);
  t.is((await sysctl.read(args({ name: 'net.ipv4.conf.lvst-none.rp_filter', value: 1 }), ctx)).runtime, null);
});

const modules = new Map([['sysctl', sysctl]]);
const invalid = (a: Record<string, unknown>) => prepare([{ name: 't', module: 'sysctl', args: a }], modules)[0].error ?? '';

test('schema: bad arguments are refused with the field named', (t) => {
  t.regex(invalid({ name: 'net.ipv4.ip_forward;reboot', value: 1 }), /name: must be a sysctl key/);
  t.regex(invalid({ name: 'net/../../etc/passwd', value: 1 }), /name: /);
  t.regex(invalid({ name: 'net.ipv4.ip_forward', value: '1\nkernel.x = 2' }), /value: must be one line/);
  t.regex(invalid({ name: 'net.ipv4.ip_forward', value: 'a=b' }), /value: must be one line without =/);
  t.regex(invalid({ name: 'net.ipv4.ip_forward', value: 1, file: 'sysctl.conf' }), /file: must be an absolute path/);
  t.regex(invalid({ name: 'net.ipv4.ip_forward', value: 1, reload: true }), /Unrecognized key.*reload/);
  for (const name of ['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.tunl0.rp_filter', 'net/ipv4/conf/eth0.100/rp_filter', 'net.ipv4.conf.eth0/100.arp_ignore']) {
    t.is(invalid({ name, value: 0 }), '', name);
  }
});
