#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import { cli } from '../dist/cli/ctl.js';
await cli(process.argv.slice(2));
