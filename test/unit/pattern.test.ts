import test from 'ava';
import { CtlError, type ErrorCode } from '../../common/errors.js';
import { matchPattern, parseIni, selectHosts } from '../../controller/inventory/index.js';

// Inventory order: solo server2 server3 server4 web1 web2 db01 db02 db03
const inv = parseIni(
  [
    'solo',
    '[directors]',
    'server2 ansible_host=172.25.7.2',
    '[realservers]',
    'server3 ansible_host=172.25.7.3',
    'server4 ansible_host=172.25.7.4',
    '[web]',
    'web1',
    'server4',
    'server3',
    'web2',
    '[db]',
    'db[01:03]',
    '[lvs:children]',
    'directors',
    'realservers',
  ].join('\n'),
  'hosts.ini',
);

const ALL = ['solo', 'server2', 'server3', 'server4', 'web1', 'web2', 'db01', 'db02', 'db03'];

const cases: [string, string[]][] = [
  ['all', ALL],
  ['*', ALL],
  ['server2', ['server2']],
  ['web', ['server3', 'server4', 'web1', 'web2']],
  ['lvs', ['server2', 'server3', 'server4']],
  ['ungrouped', ['solo']],
  // union, in inventory order whatever order it is written in
  ['web1:server2', ['server2', 'web1']],
  ['web1,server2', ['server2', 'web1']],
  ['directors:db', ['server2', 'db01', 'db02', 'db03']],
  // exclusion and intersection
  ['web:!server4', ['server3', 'web1', 'web2']],
  ['lvs:!directors', ['server3', 'server4']],
  ['web:&realservers', ['server3', 'server4']],
  ['web:&lvs:!server3', ['server4']],
  ['!web', ['solo', 'server2', 'db01', 'db02', 'db03']],
  ['&lvs', ['server2', 'server3', 'server4']],
  // unions first, then intersections, then exclusions, whatever the written order
  ['!server4:web', ['server3', 'web1', 'web2']],
  ['web:!server4:server4', ['server3', 'web1', 'web2']],
  ['&realservers:web', ['server3', 'server4']],
  ['&realservers:web:db01', ['server3', 'server4']],
  // wildcards (fnmatch, whole name, case-sensitive)
  ['server*', ['server2', 'server3', 'server4']],
  ['web?', ['web1', 'web2']],
  ['*2', ['server2', 'web2', 'db02']],
  ['db0[!2]', ['db01', 'db03']],
  ['dir*', ['server2']],
  // regex: Python re.match, anchored at the start only
  ['~server[34]', ['server3', 'server4']],
  ['~(web|db0)1', ['web1', 'db01']],
  ['~serv', ['server2', 'server3', 'server4']],
  // host-name ranges, as in an inventory file
  ['server[3:4]', ['server3', 'server4']],
  ['server[2:9]', ['server2', 'server3', 'server4']],
  ['db0[1:2]', ['db01', 'db02']],
  ['db0[1:3:2]', ['db01', 'db03']],
  // subscripts of a group, in inventory order; [x:y] is inclusive
  ['web[0]', ['server3']],
  ['web[-1]', ['web2']],
  ['web[0:1]', ['server3', 'server4']],
  ['web[2:]', ['web1', 'web2']],
  ['lvs[1:2]:directors', ['server2', 'server3', 'server4']],
  ['server*[1]', ['server3']],
  ['all[0]', ['solo']],
  // `db` is a group, so as in Ansible this is its hosts 1 to 2, not the names db01 and db02
  ['db[01:02]', ['db02', 'db03']],
];

for (const [pattern, expected] of cases) {
  test(`pattern ${pattern}`, (t) => {
    t.deepEqual(selectHosts(inv, pattern), expected);
  });
}

test('patterns are case-sensitive and need the whole name', (t) => {
  t.deepEqual(matchPattern(inv, 'WEB').hosts, []);
  t.deepEqual(matchPattern(inv, 'serv').hosts, []);
  t.deepEqual(matchPattern(inv, 'server').hosts, []);
});

test('matchPattern lists the parts that matched nothing without throwing', (t) => {
  t.deepEqual(matchPattern(inv, 'server2:nope:!gone'), { hosts: ['server2'], unmatched: ['nope', '!gone'] });
  t.deepEqual(matchPattern(inv, 'web[9]'), { hosts: [], unmatched: ['web[9]'] });
});

function patternFails(pattern: string, message: string, field: string, code: ErrorCode = 'CTL_ERR_PATTERN') {
  return test(`error: ${pattern}`, (t) => {
    const e = t.throws(() => selectHosts(inv, pattern), { instanceOf: CtlError });
    t.is(e.code, code);
    t.is(e.message, message);
    t.deepEqual(e.where, { field });
  });
}

patternFails('nope', "pattern 'nope' matches no host: no host or group matches 'nope'", 'nope');
patternFails('webs:dbs', "pattern 'webs:dbs' matches no host: no host or group matches 'webs', 'dbs'", 'webs');
patternFails('web:&nope', "pattern 'web:&nope' matches no host: no host or group matches '&nope'", '&nope');
patternFails('web:&db', "pattern 'web:&db' matches no host", 'web:&db');
patternFails('web:!web', "pattern 'web:!web' matches no host", 'web:!web');
patternFails('server[5:6]', "pattern 'server[5:6]' matches no host: no host or group matches 'server[5:6]'", 'server[5:6]');
patternFails('web[4]', "pattern 'web[4]' matches no host: no host or group matches 'web[4]'", 'web[4]');
patternFails(
  'server[4:3]',
  "bad range in pattern 'server[4:3]': range '[4:3]' has begin after end",
  'server[4:3]',
  'CTL_ERR_PATTERN_SYNTAX',
);
patternFails('~(', "invalid regular expression '~(': Invalid regular expression: /^(?:()/: Unterminated group", '~(', 'CTL_ERR_PATTERN_SYNTAX');
patternFails('', 'host pattern is empty', '', 'CTL_ERR_PATTERN_SYNTAX');
patternFails('web:!', "'!' in pattern 'web:!' has nothing after '!'", '!', 'CTL_ERR_PATTERN_SYNTAX');
// Malformed patterns are syntax errors, not patterns that match no host.
patternFails('h[3:', "syntax error in host pattern 'h[3:': '[' at 2 in 'h[3:' is never closed", 'h[3:', 'CTL_ERR_PATTERN_SYNTAX');
patternFails('web:!db[1', "syntax error in host pattern 'web:!db[1': '[' at 3 in 'db[1' is never closed", '!db[1', 'CTL_ERR_PATTERN_SYNTAX');
patternFails('web]', "syntax error in host pattern 'web]': ']' at 4 in 'web]' has no '['", 'web]', 'CTL_ERR_PATTERN_SYNTAX');
patternFails('db0[z-a]', "invalid wildcard 'db0[z-a]': Range out of order in character class", 'db0[z-a]', 'CTL_ERR_PATTERN_SYNTAX');

test('an empty inventory matches nothing, and says so', (t) => {
  const e = t.throws(() => selectHosts(parseIni('', 'empty.ini'), 'all'), { instanceOf: CtlError });
  t.is(e.message, "pattern 'all' matches no host: inventory empty.ini has no hosts");
});
