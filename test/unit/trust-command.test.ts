import test from 'ava';
import { CtlError } from '../../common/errors.js';
import { parseTtl } from '../../cli/trust-command.js';

test('--ttl takes seconds, minutes, hours and days; anything else is a usage error naming the flag', (t) => {
  t.deepEqual(['90', '90s', '30m', '1h', '7d'].map(parseTtl), [90, 90, 1800, 3600, 604_800]);
  for (const bad of ['', '0', '1w', '-1h', '1.5h', 'h']) {
    const e = t.throws(() => parseTtl(bad), { instanceOf: CtlError });
    t.is(e?.where.field, '--ttl', bad);
  }
});
