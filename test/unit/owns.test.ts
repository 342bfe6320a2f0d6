import test from 'ava';
import { MODULES } from '../../agent/modules/index.js';

/** Declared args of every owning module, as roles write them. */
const SAMPLES: Record<string, Record<string, unknown>[]> = {
  address: [{ address: '172.25.7.200/32', device: 'lo:0' }, { address: '172.25.7.100', device: 'tunl0' }],
  route: [{ destination: '172.25.7.200/32', device: 'lo' }, { destination: 'default', gateway: '172.25.7.2', table: 100, metric: 5 }],
  gateway: [{ address: '172.25.7.2', device: 'eth0' }],
  tunnel: [{ name: 'tunl0' }],
  sysctl: [{ name: 'net.ipv4.conf.lo.arp_ignore', value: 1 }],
  file: [{ path: '/var/www/html/index.html', content: 'x' }],
  keyvalue: [{ path: '/etc/sysconfig/network', key: 'GATEWAY', value: '172.25.7.2' }],
  yum_repo: [{ name: 'LoadBalancer', baseurl: 'http://172.25.7.250/rhel6.5/LoadBalancer', file: 'rhel-source.repo' }],
};

test('every owning module retires with arguments its own schema accepts, and owns nothing when absent', (t) => {
  for (const [name, samples] of Object.entries(SAMPLES)) {
    const m = MODULES.get(name)!;
    t.truthy(m.owns, `${name} declares owns`);
    const ids = new Set<string>();
    for (const args of samples) {
      const owned = m.owns!(m.schema.parse(args))!;
      t.truthy(owned, `${name} owns ${JSON.stringify(args)}`);
      ids.add(owned.id);
      const retire = m.schema.safeParse(owned.retire);
      t.true(retire.success, `${name} retire args ${JSON.stringify(owned.retire)} are valid`);
      t.is(m.owns!(retire.data), undefined, `${name}: what retires owns nothing`);
    }
    t.is(ids.size, samples.length, `${name}: distinct things get distinct ids`);
  }
});

test('modules whose effects are not owned do not declare owns', (t) => {
  for (const name of ['ipvs', 'package', 'service', 'firewall', 'kernel_module']) t.is(MODULES.get(name)!.owns, undefined, name);
});
