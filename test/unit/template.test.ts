import test from 'ava';
import { evalCondition, OMIT, renderString, renderValue, resolveVars } from '../../controller/template.js';

test('a whole-expression string keeps its native type', (t) => {
  t.is(renderString('{{ port }}', { port: 80 }), 80);
  t.deepEqual(renderString('{{ hosts }}', { hosts: ['a', 'b'] }), ['a', 'b']);
  t.is(renderString('{{ vip }}:{{ port }}', { vip: '172.25.7.200', port: 80 }), '172.25.7.200:80');
  t.is(renderString('plain', {}), 'plain');
});

test('undefined variables are errors, not empty strings', (t) => {
  t.throws(() => renderString('{{ nope }}', {}), { message: /undefined/i });
  t.throws(() => renderString('x {{ nope }} y', {}), { message: /undefined/i });
  t.is(renderString("{{ nope | default('d') }}", {}), 'd');
});

test('renderValue walks objects and names the failing field', (t) => {
  t.deepEqual(renderValue({ a: ['{{ x }}', 1], b: { c: '{{ y }}-z' } }, { x: 1, y: 'q' }), { a: [1, 1], b: { c: 'q-z' } });
  const e = t.throws(() => renderValue({ a: { b: '{{ missing }}' } }, {}));
  t.is((e as Error & { field?: string }).field, 'a.b');
});

test('conditions and lazily resolved variables', (t) => {
  t.true(evalCondition("mode == 'dr'", { mode: 'dr' }));
  t.false(evalCondition("{{ mode == 'nat' }}", { mode: 'dr' }));
  t.false(evalCondition(false, {}));
  t.deepEqual(resolveVars({ vip: '10.0.0.1', cidr: '{{ vip }}/24', deep: '{{ cidr }}!' }), { vip: '10.0.0.1', cidr: '10.0.0.1/24', deep: '10.0.0.1/24!' });
});

test('an argument rendered to omit is left out', (t) => {
  t.deepEqual(renderValue({ a: '{{ x | default(omit) }}', b: '{{ y | default(omit) }}' }, { y: 2, omit: OMIT }), { b: 2 });
});
