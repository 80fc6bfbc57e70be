/**
 * Durability of the users' copies: a worker killed with SIGKILL while it copies a large tree
 * leaves no partial copy under the final name, and the request completes on a restarted worker
 * (after the killed attempt's heartbeat times out), with the whole tree.
 *
 *   node --import tsx --test test/process/worker-copies.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requestCopy } from '../../src/clients/copies/client.js';
import { bigNotebook, publishTree, readTree } from '../helpers/copies.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { nblcEnv, startNblc, type NblcProcess } from '../helpers/processes.js';
import { useTestEnv } from '../helpers/temporal.js';

const env = useTestEnv();

function kill9(p: NblcProcess) {
  process.kill(-p.child.pid!, 'SIGKILL');
}

describe('worker crash during a copy', () => {
  test('kill -9 mid-copy: nothing under the final name; after a restart the copy completes whole', async () => {
    const dir = await tempDir('nblc-copy-crash-');
    const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: 'copy-crash' });
    const ada = path.join(config.usersDir, 'ada');
    await fs.mkdir(ada, { recursive: true });
    const files: Record<string, string> = {};
    for (let i = 0; i < 8000; i++) files[`0${i % 6}_Level/Topic ${i % 50}/Notebook ${i}.ipynb`] = bigNotebook(i, 12);
    await publishTree(config.cacheDir, files);
    const workerEnv = nblcEnv(env.address, config);
    const staging = path.join(config.usersDir, '.nblc-staging');

    let worker = startNblc(['worker'], workerEnv);
    await worker.waitFor(/nblc is running/);
    const answer = requestCopy(env.client, config, 'ada', { mode: 'provision' });
    // Kill while the tree is being assembled in staging (some files written, not all).
    const deadline = Date.now() + 120_000;
    for (;;) {
      const tmp = (await fs.readdir(staging).catch(() => [] as string[])).find((n) => n.startsWith('ada~provision~'));
      const copied = tmp ? await fs.readdir(path.join(staging, tmp, 'copy')).catch(() => []) : [];
      if (copied.length > 0) break;
      assert.ok(Date.now() < deadline, 'the copy never started');
      await new Promise((r) => setTimeout(r, 2));
    }
    kill9(worker);
    await worker.exited;
    await assert.rejects(fs.lstat(path.join(ada, 'notebooks')), 'a half copy must not appear under its final name');

    worker = startNblc(['worker'], workerEnv);
    try {
      await worker.waitFor(/nblc is running/);
      const result = await answer;
      assert.equal(result.created, true);
      assert.equal(result.files.length, 8000);
      const tree = await readTree(path.join(ada, 'notebooks'));
      assert.equal(Object.keys(tree).length, 8000);
      assert.equal(tree['05_Level/Topic 49/Notebook 7999.ipynb'], files['05_Level/Topic 49/Notebook 7999.ipynb']);
      assert.deepEqual(
        (await fs.readdir(staging)).filter((n) => n.startsWith('ada~')),
        [],
        "the crashed attempt's leftovers are gone",
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
