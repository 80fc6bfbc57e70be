#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a runtime dependency), so there is no build step.
import { privateTsxCache } from './tsx-cache.js';

// tsx caches compiled sources in <tmpdir>/tsx-<uid> and runs what it finds there. In a shared
// /tmp another user (a notebook's kernel user, when the worker runs as root) could create that
// folder first and plant code: use it only if it is this user's own, else turn the cache off.
const problem = privateTsxCache();
if (problem) {
  process.env.TSX_DISABLE_CACHE = '1';
  process.stderr.write(`nblc: tsx's disk cache is off (${problem})\n`);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/main.ts');
