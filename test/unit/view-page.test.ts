import test from 'ava';
import Fastify from 'fastify';
import { viewPage, VIEW_PUBLIC_PATHS } from '../../controller/view/routes.js';
import { VIEW_HTML, VIEW_SCRIPT } from '../../controller/view/page.js';
import { fmtAge, fmtBytes, fmtNum, fmtTime, fmtUptime, stateClass } from '../../controller/view/browser-dom.js';

test('the page, its style, script and icon are served with a CSP that allows no inline script or style', async (t) => {
  const app = Fastify();
  viewPage(app);
  for (const [url, type] of [
    ['/', 'text/html'],
    ['/view.css', 'text/css'],
    ['/view.js', 'text/javascript'],
    ['/favicon.ico', 'image/svg+xml'],
  ]) {
    const r = await app.inject({ url });
    t.is(r.statusCode, 200, url);
    t.true(r.headers['content-type']!.toString().startsWith(type), url);
    t.regex(String(r.headers['content-security-policy']), /script-src 'self'; style-src 'self'/);
    t.is(r.headers['x-content-type-options'], 'nosniff');
  }
  t.deepEqual([...VIEW_PUBLIC_PATHS].sort(), ['/', '/favicon.ico', '/favicon.svg', '/view.css', '/view.js']);
  await app.close();
});

test('the markup is static: no inline script or style, the socket.io client from the controller', (t) => {
  t.notRegex(VIEW_HTML, /<script>|<style|\sstyle=|\son[a-z]+=/i);
  t.regex(VIEW_HTML, /<script src="\/socket\.io\/socket\.io\.js" defer><\/script>/);
  t.regex(VIEW_HTML, /<form id="login" method="post" action="\/login" hidden>/);
});

test('the browser script parses, defines every function it calls, and never writes markup from strings', (t) => {
  t.notThrows(() => new Function(VIEW_SCRIPT));
  const defined = new Set([...VIEW_SCRIPT.matchAll(/^function (\w+)\(/gm)].map((m) => m[1]));
  for (const name of ['el', 'fmtAge', 'table', 'ageCell', 'renderAgents', 'renderDirectors', 'renderEvents', 'renderSummary', 'renderView', 'tickAges', 'setStatus', 'viewMain']) {
    t.true(defined.has(name), name);
  }
  t.notRegex(VIEW_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  t.regex(VIEW_SCRIPT, /\nviewMain\(\);\n$/);
});

test('formats: ages, sizes, uptimes, numbers, times', (t) => {
  t.deepEqual([null, 450, 1500, 119_000, 600_000, 7_200_000, 200_000_000].map(fmtAge), ['never', '450 ms', '2 s', '119 s', '10 min', '2 h', '2 d']);
  t.deepEqual([512, 1536, 2 ** 30 * 1.4, 2 ** 30 * 12].map(fmtBytes), ['512 B', '1.5 KiB', '1.4 GiB', '12 GiB']);
  t.deepEqual([59, 3 * 3600 + 120, 3 * 86_400 + 3600].map(fmtUptime), ['0 min', '3 h 2 min', '3 d 1 h']);
  t.deepEqual([fmtNum(null), fmtNum(undefined), fmtNum(3.4), fmtNum(0.084, 2)], ['–', '–', '3', '0.08']);
  const now = Date.parse('2025-06-01T12:00:00');
  t.is(fmtTime('2025-06-01T11:59:30', now), '11:59:30');
  t.is(fmtTime('2025-05-20T08:05:00', now), '2025-05-20 08:05');
  t.is(fmtTime('not a time', now), 'not a time');
  t.is(stateClass('down'), 'badge bad');
  t.is(stateClass('" onclick="x'), 'badge muted', 'an unknown word gets a fixed class');
});
