/** Temporary directories, upstream repositories and configs for tests. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { loadConfig, type Config, type Env } from '../../src/platform/config.js';
import { createUpstream, type Upstream } from '../../src/demo/sample-repo.js';
import { removeTree } from '../../src/activities/files.js';

/** A fresh directory removed when the test file ends (read-only snapshots included). */
export async function tempDir(prefix = 'nblc-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  after(() => removeTree(dir));
  return dir;
}

export const TEST_SECRET = 'test-webhook-secret-0123456789abcdef0123';
export const TEST_REPO = 'astro-datalab/notebooks-latest';

export interface Sandbox {
  dir: string;
  upstream: Upstream;
  config: Config;
}

/** A test's own task queues (workflows, notebooks) and repository name, so its runs stay apart from others'. */
export function ownQueues(name: string): Env {
  return { NBLC_TASK_QUEUE: name, NBLC_NOTEBOOK_TASK_QUEUE: `${name}-nb`, NBLC_REPO_FULL_NAME: `test/${name}` };
}

/** An upstream repository with one commit and a config pointing nblc at it. */
export async function sandbox(env: Env = {}): Promise<Sandbox & { first: string }> {
  const dir = await tempDir();
  const upstream = await createUpstream(path.join(dir, 'upstream'));
  const first = await upstream.commit({ 'README.md': '# notebooks\n' }, 'Initial commit');
  const config = testConfig(dir, upstream.url, env);
  return { dir, upstream, config, first };
}

/** A sandbox for test runs: its own repository name and task queues, so runs of one file never meet. */
export async function runSandbox(prefix: string, env: Env = {}): Promise<Sandbox & { first: string }> {
  const id = randomUUID().slice(0, 8);
  return sandbox({
    NBLC_REPO_FULL_NAME: `test/${prefix}-${id}`,
    NBLC_TASK_QUEUE: `${prefix}-${id}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `${prefix}-nb-${id}`,
    ...env,
  });
}

export function testConfig(dir: string, repoUrl: string, env: Env = {}): Config {
  return loadConfig({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NBLC_REPO_URL: repoUrl,
    NBLC_REPO_FULL_NAME: TEST_REPO,
    NBLC_WEBHOOK_SECRET: TEST_SECRET,
    NBLC_DATA_DIR: path.join(dir, 'data'),
    NBLC_LOG_LEVEL: 'silent',
    // Tests opt in to merge runs and schedules explicitly.
    NBLC_TEST_ON_MERGE: 'false',
    NBLC_TEST_CRON: 'off',
    ...env,
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
