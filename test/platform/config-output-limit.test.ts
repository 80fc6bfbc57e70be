/** NBLC_NOTEBOOK_OUTPUT_LIMIT: a documented default, sizes in binary units, refused by name outside 1M–16G. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, type Env } from '../../src/platform/config.js';

const base: Env = { NBLC_REPO_URL: '/srv/notebooks.git', NBLC_REPO_FULL_NAME: 'org/notebooks' };

test('the default is 64 MiB; sizes take K, M, G (binary) and reach the executor in bytes', () => {
  assert.equal(loadConfig(base).tests.outputLimitBytes, 64 * 2 ** 20);
  assert.equal(loadConfig({ ...base, NBLC_NOTEBOOK_OUTPUT_LIMIT: '1.5G' }).tests.outputLimitBytes, 1.5 * 2 ** 30);
  assert.equal(loadConfig({ ...base, NBLC_NOTEBOOK_OUTPUT_LIMIT: '2048k' }).tests.outputLimitBytes, 2 * 2 ** 20);
});

test('a value that is not a size, or outside 1M–16G, stops loading with the setting named', () => {
  for (const value of ['lots', '0', '512K', '17G', '-1M']) {
    assert.throws(
      () => loadConfig({ ...base, NBLC_NOTEBOOK_OUTPUT_LIMIT: value }),
      (err: unknown) => err instanceof ConfigError && /NBLC_NOTEBOOK_OUTPUT_LIMIT: /.test(err.message),
      value,
    );
  }
});
