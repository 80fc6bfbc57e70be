/**
 * POST /runs refuses options beyond RUN_LIMITS (400 naming each), so nothing out of bounds ever
 * reaches the workflow: a notebookTimeoutS of 1e21 used to start a run whose workflow then failed
 * its task forever on an invalid duration, holding its snapshot pinned. No Temporal server: a
 * refused request never reaches it (the client points nowhere).
 *
 *   node --import tsx --test test/api/run-options.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-run-option-tests-0123456789';
const dir = await tempDir('nblc-api-run-options-');
const config = testConfig(dir, '/nonexistent.git', { NBLC_API_TOKEN: TOKEN });
const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
const app = createApp({ client, config, logger: createLogger('silent') });

async function problemsOf(body: unknown): Promise<string[]> {
  const res = await app.request('/runs', {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await res.json()) as { error: string; problems?: string[] };
  assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 100)}: ${res.status} ${json.error}`);
  return json.problems ?? [];
}

test('durations beyond a day, and counts beyond their bounds, are 400 naming the option', async () => {
  for (const [name, value] of [
    ['notebookTimeoutS', 1e21],
    ['notebookTimeoutS', 86_401],
    ['notebookTimeoutS', 0.5],
    ['cellTimeoutS', 1e21],
    ['cellTimeoutS', 86_401],
    ['concurrency', 257],
    ['concurrency', 1e9],
    ['retries', 11],
    ['include', Array.from({ length: 101 }, () => '*.ipynb')],
    ['exclude', Array.from({ length: 101 }, () => '*.ipynb')],
    ['include', ['x'.repeat(501)]],
  ] as const) {
    const problems = await problemsOf({ [name]: value });
    assert.ok(
      problems.some((p) => p.startsWith(name)),
      `${name}=${String(value).slice(0, 20)}: ${problems.join('; ')}`,
    );
  }
});

test('a glob too complex to match quickly is 400 with what to do instead', async () => {
  const problems = await problemsOf({ include: ['*a*b*c*d*e*f*g*h*i*j*k*l*.ipynb'] });
  assert.ok(
    problems.some((p) => /^include\.0: .*too complex to match quickly.*Use simpler globs/.test(p)),
    problems.join('; '),
  );
});
