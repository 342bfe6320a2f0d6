/**
 * Run by `npm test` before ava: installs the Debian packages the namespace tests and the lab
 * need when they are missing, so `npm ci && npm test` works on a fresh Debian machine.
 */
import { ensurePackages, LAB_PACKAGES } from '../lab/packages.js';

const installed = await ensurePackages([...LAB_PACKAGES, 'procps']);
if (installed.length) process.stdout.write(`installed for the tests: ${installed.join(' ')}\n`);
