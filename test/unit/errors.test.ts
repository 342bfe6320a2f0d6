import test from 'ava';
import { CtlError, ERRORS, EXIT } from '../../common/errors.js';

test('every error code is a CTL_ERR_ name with an exit code and HTTP status of its kind', (t) => {
  for (const [code, e] of Object.entries(ERRORS)) {
    t.regex(code, /^CTL_ERR_[A-Z_]+$/);
    // 2 and 3 are kept for failed and unreachable hosts, 6 and 7 for the other outcomes.
    const outcomes: number[] = Object.values(EXIT).filter((x) => x !== EXIT.error);
    t.true(e.exit >= 1 && e.exit <= 250 && !outcomes.includes(e.exit), `${code} exit ${e.exit} is an outcome's code`);
    t.true(e.status >= 400 && e.status < 600, code);
    t.truthy(e.message);
  }
  t.is(new Set(Object.values(ERRORS).map((e) => e.message)).size, Object.keys(ERRORS).length, 'no two codes share a meaning');
});

test('oneLine names file, line and field like a compiler', (t) => {
  t.is(new CtlError('CTL_ERR_ROLE_PARSE', 'bad', { file: 'roles/x/tasks.yml', line: 3, field: 'sysctl' }).oneLine(), 'roles/x/tasks.yml:3: sysctl: bad');
  t.is(new CtlError('CTL_ERR_USAGE', 'bad').oneLine(), 'bad');
  t.is(new CtlError('CTL_ERR_PATTERN', 'x', { field: 'hosts' }).exitCode, 4);
});

test('an outcome exit code (drift, no lab, drain timeout) is never also an error exit code, and no two outcomes share one', (t) => {
  const outcomes = Object.entries(EXIT).filter(([k]) => !['ok', 'error', 'hostFailed', 'hostUnreachable'].includes(k));
  const codes = outcomes.map(([, c]) => c);
  t.is(new Set(Object.values(EXIT)).size, Object.values(EXIT).length, JSON.stringify(EXIT));
  for (const [name, code] of outcomes) {
    const clash = Object.entries(ERRORS).filter(([, e]) => e.exit === code).map(([k]) => k);
    t.deepEqual(clash, [], `EXIT.${name} (${code}) is also the exit code of ${clash.join(', ')}`);
  }
  t.true(codes.length > 0);
});
