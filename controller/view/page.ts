import * as dom from './browser-dom.js';
import * as render from './browser-render.js';
import * as main from './browser-main.js';

/**
 * The live health view, all of it in this one place: the markup (static: data never reaches
 * it as HTML), the style, and the browser script assembled from the standalone functions of
 * browser-*.ts, which are type-checked with the rest of the project.
 */

export const VIEW_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lvsctl · cluster health</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/view.css">
<script src="/socket.io/socket.io.js" defer></script>
<script src="/view.js" defer></script>
</head>
<body>
<header>
  <h1>lvsctl</h1>
  <span id="status" class="badge muted">connecting…</span>
  <span id="generated" class="muted"></span>
  <button id="logout" type="button" hidden>sign out</button>
</header>
<form id="login" method="post" action="/login" hidden>
  <h2>Sign in</h2>
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
  <p id="login-error" class="error" role="alert"></p>
</form>
<main id="main" hidden>
  <div id="summary"></div>
  <section id="agents"><h2>Agents</h2><div id="agents-body"></div></section>
  <section id="directors"><h2>Directors</h2><div id="directors-body"></div></section>
  <section id="events"><h2>Recent events</h2><div id="events-body"></div></section>
</main>
</body>
</html>
`;

export const VIEW_CSS = `:root{--fg:#1b1f24;--muted:#6a737d;--line:#e1e4e8;--bg:#fff;--head:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--bg:#0d1117;--head:#161b22;--ok:#3fb950;--warn:#d29922;--bad:#f85149}}
@media (min-width:1800px){:root{font-size:18px}}
body{margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;border-bottom:1px solid var(--line);background:var(--head)}
header h1{font-size:1.2em;margin:0}
#logout{margin-left:auto}
main,form{padding:0 1.2em 1.2em}
form{max-width:22em}
form label,form input,form button{display:block;margin:.4em 0}
form input{width:100%;padding:.4em;font:inherit}
h2{font-size:1.1em;margin:1.2em 0 .4em}
h3{font-size:1em;margin:.8em 0 .2em}
h4{font-size:1em;font-weight:600;margin:.6em 0 .2em}
table{border-collapse:collapse;width:100%}
th,td{padding:.3em .6em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:600;white-space:nowrap}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:var(--muted)}
.small{font-size:.85em}
.error{color:var(--bad)}
.badge{display:inline-block;padding:0 .45em;border-radius:.6em;font-size:.85em;font-weight:600;border:1px solid currentColor;margin-right:.3em}
.badge.ok{color:var(--ok)}.badge.warn{color:var(--warn)}.badge.bad{color:var(--bad)}.badge.muted{color:var(--muted)}
.summary .badge{font-size:1em;padding:.1em .6em}
tr.state-offline,tr.state-revoked{opacity:.65}
tr.state-down th,tr.state-down td{background:color-mix(in srgb,var(--bad) 8%,transparent)}
tr.state-drained th,tr.state-drained td{background:color-mix(in srgb,var(--warn) 8%,transparent)}
.role{display:inline-block;margin:0 .3em .1em 0;padding:0 .35em;border:1px solid var(--line);border-radius:.3em;font-size:.85em}
ul.findings{margin:.2em 0 0;padding-left:1.1em}
ol.events{list-style:none;margin:0;padding:0}
ol.events li{display:flex;gap:.6em;padding:.25em 0;border-bottom:1px solid var(--line)}
ol.events time{font-variant-numeric:tabular-nums;min-width:5.5em}
.service{margin-bottom:.8em}
`;

export const VIEW_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#1a7f37"/></svg>';

const browserFunctions = [...Object.values(dom), ...Object.values(render), ...Object.values(main)].filter((f) => typeof f === 'function');

/** The browser script: every exported function of browser-*.ts, then the call that starts the page. */
export const VIEW_SCRIPT = `'use strict';\n${browserFunctions.map((f) => f.toString()).join('\n\n')}\n\nviewMain();\n`;

/**
 * Scripts and styles from this origin only (no inline script or style can run, should anything
 * ever slip into the markup); the socket.io client and its websocket are same-origin too.
 */
export const VIEW_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
