#!/usr/bin/env node
// Runs the TypeScript CLI without a build step: from a bundle of src/ built on first use and
// kept while the sources are unchanged (bin/cli-bundle.js: about half the start-up time), or,
// when that cannot be built or NBLC_CLI_BUNDLE=off, through tsx (a runtime dependency).
import { pathToFileURL } from 'node:url';
import { cliBundle } from './cli-bundle.js';
import { privateTsxCache } from './tsx-cache.js';

let bundle = null;
if (process.env.NBLC_CLI_BUNDLE !== 'off') {
  bundle = await cliBundle().catch((err) => {
    // A read-only install (an image built without it) only means the slower start.
    if (!['EACCES', 'EPERM', 'EROFS'].includes(err.code))
      process.stderr.write(`nblc: running through tsx: the CLI bundle could not be built (${err.message})\n`);
    return null;
  });
}
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
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
}
