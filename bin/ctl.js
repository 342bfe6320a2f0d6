#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import { cli } from '../dist/cli/ctl.js';
const code = await cli(process.argv.slice(2));
// Exit now rather than when fetch's idle keep-alive sockets time out (~100 ms later); stdout
// and stderr are synchronous for files and pipes on Linux, so nothing printed is lost.
process.exit(code);
