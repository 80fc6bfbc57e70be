/**
 * The CLI's numbers have the same bounds as the API's (RUN_LIMITS for `nblc test`): out of bounds
 * is a usage error (exit 2) before anything connects or starts. No Temporal server: TEMPORAL_ADDRESS
 * points nowhere, so a command that got past its checks would fail differently.
 *
 *   node --import tsx --test test/cli/limits.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runNblc } from '../helpers/processes.js';

const env = { NBLC_REPO_URL: '/nowhere.git', NBLC_REPO_FULL_NAME: 'org/notebooks', TEMPORAL_ADDRESS: '127.0.0.1:1' };

test('nblc test: --concurrency, --retries, --cell-timeout, --notebook-timeout and glob counts are bounded', () => {
  for (const [args, message] of [
    [['--concurrency', '0'], /--concurrency takes a whole number from 1 to 256/],
    [['--concurrency', '1e9'], /--concurrency takes a whole number from 1 to 256/],
    [['--retries', '11'], /--retries takes a whole number from 0 to 10/],
    [['--notebook-timeout', '1e21'], /--notebook-timeout takes a number of seconds from 1 to 86400/],
    [['--cell-timeout', 'soon'], /--cell-timeout takes a number of seconds from 1 to 86400/],
    [Array.from({ length: 101 }, () => ['--include', '*.ipynb']).flat(), /include: at most 100 globs/],
    [['--exclude', 'x'.repeat(501)], /exclude: .*at most 500 characters/],
  ] as const) {
    const res = runNblc(['test', ...args], env);
    assert.equal(res.code, 2, `${args.slice(0, 2).join(' ')}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, message);
  }
});

test('nblc sync --timeout is a number of seconds up to a day', () => {
  for (const value of ['1e21', 'soon', '0']) {
    const res = runNblc(['sync', '--wait', '--timeout', value], env);
    assert.equal(res.code, 2, `--timeout ${value}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /--timeout takes a number of seconds from 1 to 86400/);
  }
});
