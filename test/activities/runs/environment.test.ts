/**
 * The environment probe (src/activities/runs/environment.ts) with the real executor, fork server,
 * kernel from .venv and sandbox: what it records is what a notebook's kernel sees, nothing else.
 *
 *   node --import tsx --test test/activities/runs/environment.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { scratchDirOf } from '../../../src/activities/runs/notebooks.js';
import { createEnvironmentActivities, ENVIRONMENT_FILE } from '../../../src/activities/runs/environment.js';
import { fingerprintText, normalizeName, type RunEnvironment } from '../../../src/domain/runs/environment.js';
import { runActivity } from '../../helpers/activities.js';
import { tempDir, testConfig } from '../../helpers/fixtures.js';

const PYTHON = path.resolve(import.meta.dirname, '../../../.venv/bin/python');
/** A secret the kernel may see (passed on with NBLC_KERNEL_ENV): it must not reach the record. */
const SECRET = 'nblc-test-secret-0123456789abcdefghijklmnop';

/** What .venv's own Python says: the kernel (python3 from .venv) must agree. */
function venv(code: string): string {
  return execFileSync(PYTHON, ['-c', code], { encoding: 'utf8' }).trim();
}

async function probe(env: Record<string, string> = {}) {
  const dir = await tempDir();
  const config = testConfig(dir, 'https://example.invalid/repo.git', env);
  const runId = 'manual-20260101T000000Z-probe';
  const summary = await runActivity(createEnvironmentActivities(config).probeEnvironment, { runId });
  const file = path.join(config.resultsDir, runId, ENVIRONMENT_FILE);
  const text = await fs.readFile(file, 'utf8');
  // The probe's work is scratch, outside the (served) run directory, and removed.
  const leftovers = await fs.readdir(scratchDirOf(config.resultsDir, runId));
  assert.deepEqual(await fs.readdir(path.join(config.resultsDir, runId)), [ENVIRONMENT_FILE]);
  return { summary, text, environment: JSON.parse(text) as RunEnvironment, leftovers };
}

test('measures the kernel environment inside a sandboxed kernel: Python, packages, fingerprint; no secret', async () => {
  const { summary, text, environment, leftovers } = await probe({
    NBLC_KERNEL_ENV: 'PROBE_SECRET',
    PROBE_SECRET: SECRET,
  });
  assert.equal(environment.error, undefined, environment.error);
  assert.equal(environment.kernel, 'python3');
  assert.equal(environment.python, venv('import platform; print(platform.python_version())'));
  for (const name of ['ipykernel', 'nbclient', 'jupyter_client']) {
    const version = venv(`import importlib.metadata as m; print(m.version(${JSON.stringify(name)}))`);
    assert.equal(environment.packages[normalizeName(name)], version, name);
  }
  assert.deepEqual(Object.keys(environment.packages), Object.keys(environment.packages).sort(), 'in name order');
  const expected = createHash('sha256').update(fingerprintText(environment)).digest('hex');
  assert.equal(environment.fingerprint, expected);
  assert.deepEqual(Object.keys(environment).sort(), ['fingerprint', 'kernel', 'measuredAt', 'packages', 'python']);
  assert.deepEqual(summary, {
    fingerprint: expected,
    python: environment.python,
    packages: Object.keys(environment.packages).length,
  });
  assert.ok(!text.includes(SECRET), 'nothing of the kernel environment variables is recorded');
  assert.deepEqual(leftovers, [], 'the probe notebook and its scratch are removed');
});

test('a probe that cannot run is recorded with its reason, and the activity does not fail', async () => {
  const { summary, environment } = await probe({ NBLC_DEFAULT_KERNEL: 'no-such-kernel-nblc' });
  assert.equal(environment.kernel, 'no-such-kernel-nblc');
  assert.equal(environment.fingerprint, null);
  assert.deepEqual(environment.packages, {});
  assert.match(environment.error ?? '', /no_such_kernel: no such kernel: no-such-kernel-nblc/);
  assert.equal(summary.error, environment.error);
});
