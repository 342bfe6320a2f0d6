import test from 'ava';
import { z } from 'zod';
import { checkOverrideSchema, checkSchema, resolveCheck, type Check } from '../../agent/health/schema.js';
import { realServerHealthShape, refineServiceHealth, serviceHealthShape } from '../../agent/health/service-schema.js';
import { healthConfig, type HealthArgs } from '../../agent/health/config.js';
import { normalizeStatus, statusMatches, statusRanges } from '../../agent/health/status-codes.js';
import { describeIssues, ipv4 } from '../../agent/validate.js';

/**
 * The ipvs module's service entry as the wiring will extend it: the module's own keys (a subset
 * here) with the health shapes spread in and refineServiceHealth in its superRefine.
 */
const realServer = z
  .object({
    address: ipv4,
    port: z.number().int().min(0).max(65535).optional(),
    forwarding: z.enum(['nat', 'tun', 'dr']).default('dr'),
    weight: z.number().int().min(0).max(65535).default(1),
    ...realServerHealthShape,
  })
  .strict();
const service = z
  .object({
    protocol: z.enum(['tcp', 'udp', 'fwmark']).default('tcp'),
    address: ipv4.optional(),
    port: z.number().int().min(0).max(65535).optional(),
    fwmark: z.number().int().optional(),
    scheduler: z.string().default('wlc'),
    realServers: z.array(realServer).default([]),
    ...serviceHealthShape,
  })
  .strict()
  .superRefine(refineServiceHealth);

function errors(schema: z.ZodType, input: unknown): string {
  const r = schema.safeParse(input);
  return r.success ? '(valid)' : describeIssues(r.error);
}

test('an http check gets the fast defaults (interval 2, timeout 1, fall 2, rise 2, inhibit, no alpha, 200-399)', (t) => {
  t.deepEqual(checkSchema.parse({ type: 'http' }), {
    type: 'http',
    path: '/',
    status: '200-399',
    interval: 2,
    timeout: 1,
    fall: 2,
    rise: 2,
    on_failure: 'inhibit',
    alpha: false,
  });
  t.deepEqual(checkSchema.parse({ type: 'none' }), { type: 'none' });
});

test('expected status codes: a code, a range, a list of codes and ranges; normalised to one string', (t) => {
  const status = (s: unknown) => (checkSchema.parse({ type: 'http', status: s }) as Extract<Check, { type: 'http' }>).status;
  t.is(status(200), '200');
  t.is(status('200-299'), '200-299');
  t.is(status('200, 301-302'), '200,301-302');
  t.is(status([200, '301-302', 404]), '200,301-302,404');
  for (const bad of [600, 99, '399-200', '2xx', [], [null], '200-', 200.5]) {
    t.regex(errors(checkSchema, { type: 'http', status: bad }), /^status: status must be HTTP status codes/, JSON.stringify(bad));
  }
  const ranges = statusRanges(normalizeStatus([200, '301-302'])!);
  t.deepEqual(ranges, [[200, 200], [301, 302]]);
  t.true(statusMatches(ranges, 302));
  t.false(statusMatches(ranges, 303));
});

test('a parsed check parses again to itself (the state file stores parsed checks)', (t) => {
  for (const c of [
    { type: 'http', path: '/health?x=1', host: 'www.example.com', status: [200, '301-302'], expect: 'ready', port: 8080, source: '172.25.7.2', interval: 5, timeout: 2.5, retry_interval: 1, fall: 3, rise: 1, on_failure: 'remove', alpha: true },
    { type: 'tcp', port: 443 },
    { type: 'exec', argv: ['/usr/lib/lvs/check', '--verbose'] },
    { type: 'none' },
  ]) {
    const once = checkSchema.parse(c);
    t.deepEqual(checkSchema.parse(once), once);
  }
});

test('bad checks are refused with the field named', (t) => {
  t.is(errors(checkSchema, { type: 'ping' }), 'type: type must be one of http, tcp, exec, none');
  t.is(errors(checkSchema, { type: 'exec', argv: '/bin/check --x' }), 'argv: argv must be a list of strings (no shell)');
  t.is(errors(checkSchema, { type: 'exec', argv: ['/bin/check', 3] }), 'argv.1: argv elements must be strings');
  t.is(errors(checkSchema, { type: 'exec', argv: ['check'] }), 'argv.0: argv[0] must be an absolute path (no PATH lookup)');
  t.is(errors(checkSchema, { type: 'exec', argv: [] }), 'argv: argv must name a program');
  t.is(errors(checkSchema, { type: 'tcp', port: 0 }), 'port: port must be 1-65535');
  t.is(errors(checkSchema, { type: 'tcp', port: 65536 }), 'port: port must be 1-65535');
  t.is(errors(checkSchema, { type: 'tcp', source: '300.1.1.1' }), 'source: must be an IPv4 address like 172.25.7.2');
  t.is(errors(checkSchema, { type: 'tcp', interval: 1, timeout: 2 }), 'timeout: must not exceed interval (1 s)');
  t.is(errors(checkSchema, { type: 'tcp', fall: 0 }), 'fall: fall must be 1-100');
  t.is(errors(checkSchema, { type: 'tcp', on_failure: 'drop' }), 'on_failure: on_failure must be inhibit or remove');
  t.is(errors(checkSchema, { type: 'http', path: 'health' }), 'path: path must start with / and hold no spaces or control characters');
  t.is(errors(checkSchema, { type: 'http', host: 'a b\r\nX-Evil: 1' }), 'host: host must be a host name like www.example.com, optionally with :port');
  t.regex(errors(checkSchema, { type: 'tcp', path: '/' }), /Unrecognized key: "path"/);
  t.regex(errors(checkSchema, { type: 'none', interval: 2 }), /Unrecognized key: "interval"/);
});

test('a real server override merges over the service check; a new type keeps only the timing', (t) => {
  const base = checkSchema.parse({ type: 'http', path: '/health', interval: 5, timeout: 2 });
  const port = resolveCheck(base, { port: 8080 });
  t.true(port.ok && port.check.type === 'http' && port.check.path === '/health' && port.check.port === 8080 && port.check.interval === 5);
  const tcp = resolveCheck(base, { type: 'tcp' });
  t.deepEqual(tcp.ok && tcp.check, { type: 'tcp', interval: 5, timeout: 2, fall: 2, rise: 2, on_failure: 'inhibit', alpha: false });
  t.deepEqual(resolveCheck(base, { type: 'none' }), { ok: true, check: { type: 'none' } });
  t.deepEqual(resolveCheck(undefined, undefined), { ok: true, check: { type: 'none' } });
  t.deepEqual(resolveCheck(undefined, { interval: 5 }), { ok: false, issues: [{ path: ['type'], message: 'needed: the service declares no check to override' }] });
  const bad = resolveCheck(base, { type: 'tcp', path: '/x' });
  t.false(bad.ok);
  const status = resolveCheck(base, checkOverrideSchema.parse({ status: [200, '301-302'], expect: 'up' }));
  t.true(status.ok && status.check.type === 'http' && status.check.status === '200,301-302' && status.check.expect === 'up');
  t.regex(errors(checkOverrideSchema, { status: 700 }), /^status: status must be HTTP status codes/);
});

test('service entries: quorum and hysteresis default as keepalived (1, 0); sorry server and overrides are checked', (t) => {
  const s = service.parse({ address: '172.25.7.200', port: 80, healthcheck: { type: 'http' }, realServers: [{ address: '172.25.7.3' }] });
  t.is(s.quorum, 1);
  t.is(s.hysteresis, 0);
  const svc = { address: '172.25.7.200', port: 80, healthcheck: { type: 'http' } };
  t.is(errors(service, { ...svc, sorry_server: '172.25.7.250:8080', realServers: [{ address: '172.25.7.3' }] }), 'sorry_server: port must equal the virtual port 80 with forwarding dr (only nat maps ports)');
  t.is(errors(service, { ...svc, sorry_server: '172.25.7.250:8080', realServers: [{ address: '172.25.7.3', forwarding: 'nat' }] }), '(valid)');
  t.is(errors(service, { ...svc, sorry_server: '172.25.7.3', realServers: [{ address: '172.25.7.3' }] }), 'sorry_server: 172.25.7.3:80 is also a real server of this service');
  t.regex(errors(service, { ...svc, sorry_server: '172.25.7.250:70000' }), /^sorry_server: sorry_server must be an IPv4 address/);
  t.is(errors(service, { ...svc, quorum: 0 }), 'quorum: quorum must be 1-4294967295');
  t.is(errors(service, { ...svc, realServers: [{ address: '172.25.7.3', healthcheck: { type: 'tcp', timeout: 3 } }] }), 'realServers.0.healthcheck.timeout: must not exceed interval (2 s)');
  t.regex(errors(service, { ...svc, realServers: [{ address: '172.25.7.3', healthcheck: { type: 'tcp', path: '/x' } }] }), /^realServers\.0\.healthcheck: Unrecognized key: "path"/);
  t.is(errors(service, { address: '172.25.7.200', port: 80, realServers: [{ address: '172.25.7.3', healthcheck: { fall: 3 } }] }), 'realServers.0.healthcheck.type: needed: the service declares no check to override');
  t.is(
    errors(service, { protocol: 'fwmark', fwmark: 1, healthcheck: { type: 'tcp' }, realServers: [{ address: '172.25.7.3' }] }),
    'healthcheck: tcp check of 172.25.7.3 needs port: the real server has none (fwmark service)',
  );
  t.is(errors(service, { protocol: 'fwmark', fwmark: 1, healthcheck: { type: 'tcp', port: 80 }, realServers: [{ address: '172.25.7.3' }] }), '(valid)');
});

test('healthConfig takes keys, ports and weights from the ipvs module and resolves each real server check', (t) => {
  const args = {
    services: [
      service.parse({
        address: '172.25.7.200',
        port: 80,
        healthcheck: { type: 'http', path: '/ok' },
        sorry_server: '172.25.7.250',
        realServers: [
          { address: '172.25.7.3', weight: 3 },
          { address: '172.25.7.4', healthcheck: { type: 'exec', argv: ['/usr/local/bin/probe'] } },
        ],
      }),
    ],
  } as unknown as HealthArgs;
  const cfg = healthConfig(args);
  const s = cfg.services[0];
  t.is(s.service.realServers[0].port, 80, 'the real server port defaults to the virtual port, as desiredServices says');
  t.is(s.service.realServers[0].weight, 3);
  t.deepEqual(Object.keys(s.checks), ['172.25.7.3:80', '172.25.7.4:80']);
  t.is(s.checks['172.25.7.3:80'].type, 'http');
  t.deepEqual(s.checks['172.25.7.4:80'], { type: 'exec', argv: ['/usr/local/bin/probe'], interval: 2, timeout: 1, fall: 2, rise: 2, on_failure: 'inhibit', alpha: false });
  t.deepEqual(s.sorryServer, { address: '172.25.7.250', port: 80, forwarding: 'dr', weight: 1 });
});
