import test from 'ava';
import { inSubnet, ipToInt, netmaskToPrefix, prefixToNetmask } from '../../common/ipv4.js';

test('prefix and netmask convert both ways, edges included', (t) => {
  for (const [p, m] of [[0, '0.0.0.0'], [8, '255.0.0.0'], [24, '255.255.255.0'], [30, '255.255.255.252'], [32, '255.255.255.255']] as const) {
    t.is(prefixToNetmask(p), m);
    t.is(netmaskToPrefix(m), p);
  }
});

test('subnet membership ignores host bits of the network address', (t) => {
  t.is(ipToInt('172.25.7.2'), 2887321346);
  t.true(inSubnet('172.25.7.2', 24, '172.25.7.200'));
  t.false(inSubnet('172.25.7.2', 24, '172.25.8.3'));
  t.true(inSubnet('10.0.0.0', 0, '192.168.1.1'));
  t.false(inSubnet('172.25.7.200', 32, '172.25.7.201'));
});
