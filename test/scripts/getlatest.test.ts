/**
 * The `getlatest` shell function (scripts/getlatest.sh) in a real bash, against the real HTTP
 * API, a real Temporal dev server and a worker in this process.
 *
 *   node --import tsx --test test/scripts/getlatest.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/platform/logger.js';
import { userToken } from '../../src/platform/copies/user-tokens.js';
import { startApi, type RunningApi } from '../../src/process/server.js';
import { publishTree, readTree } from '../helpers/copies.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { useTestEnv } from '../helpers/temporal.js';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/getlatest.sh');
const TOKEN = 'getlatest-operator-token-0123456789abcdef';
const dir = await tempDir('nblc-getlatest-');
const config = testConfig(dir, '/nonexistent.git', {
  NBLC_API_TOKEN: TOKEN,
  NBLC_USER_TOKEN_SECRET: 'getlatest-user-secret-0123456789abcdef',
  NBLC_TASK_QUEUE: 'getlatest',
});
const home = path.join(config.usersDir, 'ada');
/** Where getlatest looks by default: the user's own token, written by the account hook. */
const userTokenFile = path.join(home, '.nblc', 'token');
const operatorTokenFile = path.join(dir, 'api_token');

const env = useTestEnv({ worker: config });
let api: RunningApi;

/** `getlatest ARGS` in a bash that sourced the script, as a user's shell would. */
function getlatest(args: string[], extraEnv: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-c', `source "${SCRIPT}" && getlatest "$@"`, 'getlatest', ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        USER: 'ada',
        NBLC_URL: api.url,
        ...extraEnv,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('getlatest', () => {
  // In the suite, not at the top: Node runs top-level before hooks concurrently, and the API
  // needs the test server that useTestEnv starts.
  before(async () => {
    api = await startApi({ client: env.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
    await fs.mkdir(path.dirname(userTokenFile), { recursive: true });
    await fs.writeFile(userTokenFile, `${userToken(config.userTokenSecret!, 'ada')}\n`, { mode: 0o600 });
    await fs.writeFile(operatorTokenFile, `${TOKEN}\n`);
  });
  after(async () => {
    await api?.close();
  });

  test('makes notebooks_YYYYMMDD_HHMMSS, or DIR once; never overwrites', async () => {
    await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': 'v1', 'README.md': 'v1' });
    const first = await getlatest([]);
    assert.equal(first.code, 0, first.stderr);
    const [, name] = first.stdout.match(/in ~\/(notebooks_\d{8}_\d{6})\n/) ?? [];
    assert.ok(name, first.stdout);
    assert.deepEqual(await readTree(path.join(home, name)), { 'Intro/Hello World.ipynb': 'v1', 'README.md': 'v1' });

    const named = await getlatest(['my-project']);
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /in ~\/my-project\n/);
    await fs.writeFile(path.join(home, 'my-project', 'README.md'), 'my notes');
    const again = await getlatest(['my-project']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: choose another name/);
    assert.equal(await fs.readFile(path.join(home, 'my-project', 'README.md'), 'utf8'), 'my notes');
  });

  test('bad names and a missing token are refused before anything happens', async () => {
    const before = await fs.readdir(home);
    for (const bad of ['../bob', '.hidden', 'a/b', 'x y', '-rf']) {
      const res = await getlatest([bad]);
      assert.equal(res.code, 2, `${bad}: ${res.stderr}`);
    }
    assert.equal((await getlatest([], { NBLC_TOKEN_FILE: path.join(dir, 'nope') })).code, 1);
    const wrong = path.join(dir, 'wrong_token');
    await fs.writeFile(wrong, 'wrong');
    const denied = await getlatest([], { NBLC_TOKEN_FILE: wrong });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /wrong bearer token/);
    // bob's own token does not open ada's copies
    const bobs = path.join(dir, 'bob_token');
    await fs.writeFile(bobs, userToken(config.userTokenSecret!, 'bob'));
    const notBob = await getlatest([], { NBLC_TOKEN_FILE: bobs });
    assert.equal(notBob.code, 1);
    assert.match(notBob.stderr, /not a token of user ada/);
    assert.deepEqual(await fs.readdir(home), before);
  });

  test("prints the new copy's notebooks that fail upstream now (status.json of the last scheduled run)", async () => {
    await publishTree(config.cacheDir, {
      'Intro/Hello World.ipynb': 'v1',
      'Intro/Broken.ipynb': 'v1',
      'README.md': 'v1',
    });
    const health = (status: string) => ({
      status,
      since: '2026-12-07T03:00:00.000Z',
      lastPass: null,
      medianDurationMs: null,
      p95PeakMemoryBytes: null,
      exceedsUserLabMemory: false,
    });
    const status = {
      version: 1,
      generatedAt: '2026-12-07T03:10:00.000Z',
      runId: 'scheduled-1',
      commit: 'c'.repeat(40),
      environmentFingerprint: null,
      userLabMemoryBytes: null,
      notebooks: {
        'Intro/Hello World.ipynb': health('passed'),
        'Intro/Broken.ipynb': health('failed'),
        'Elsewhere/Gone.ipynb': health('failed'),
      },
    };
    await fs.writeFile(path.join(config.cacheDir, 'status.json'), JSON.stringify(status));
    try {
      const res = await getlatest(['with-status']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /1 notebook\(s\) of this copy currently fail upstream/);
      assert.match(res.stdout, /^ {2}Intro\/Broken\.ipynb$/m);
      assert.doesNotMatch(res.stdout, /Hello World|Gone/);
    } finally {
      await fs.rm(path.join(config.cacheDir, 'status.json'));
    }
  });

  test('the operator token works too', async () => {
    const res = await getlatest(['by-operator'], { NBLC_TOKEN_FILE: operatorTokenFile });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /in ~\/by-operator\n/);
  });
});
