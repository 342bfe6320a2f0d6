/**
 * Run by `npm test` before ava: installs the Debian packages the namespace tests and the lab
 * need when they are missing, so `npm ci && npm test` works on a fresh Debian machine.
 */
import { ensurePackages, LAB_PACKAGES } from '../lab/packages.js';

// chromium: the health view's browser test (driven by playwright-core, no browser download).
const installed = await ensurePackages([...LAB_PACKAGES, 'procps', 'chromium']);
if (installed.length) process.stdout.write(`installed for the tests: ${installed.join(' ')}\n`);
