/**
 * The on-disk workflow bundle: reused only while nothing it is built from changed, rebuilt when
 * anything did, and never a reason for a worker not to start.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { bundleKey, workflowBundle, WORKFLOWS_PATH } from '../../src/process/workflow-bundle.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-bundle-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

/** A small project: the SDK's package.json, a lock file and two sources. */
async function project(name: string): Promise<string> {
  const root = path.join(tmp, name);
  await fs.mkdir(path.join(root, 'node_modules/@temporalio/worker'), { recursive: true });
  await fs.mkdir(path.join(root, 'src/workflows'), { recursive: true });
  await fs.writeFile(path.join(root, 'node_modules/@temporalio/worker/package.json'), '{"version":"1.24.0"}');
  await fs.writeFile(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}');
  await fs.writeFile(path.join(root, 'src/workflows/index.ts'), 'export * from "./a.js";\n');
  await fs.writeFile(path.join(root, 'src/workflows/a.ts'), 'export async function a() {}\n');
  return root;
}

describe('workflow bundle cache', () => {
  test('the key changes with any source, the lock file or the SDK, and only then', async () => {
    const root = await project('key');
    const wf = path.join(root, 'src/workflows/index.ts');
    const k0 = await bundleKey(wf, root);
    assert.equal(await bundleKey(wf, root), k0, 'same inputs, same key');
    const changes: Array<[string, string]> = [
      ['src/workflows/a.ts', 'export async function a() { return 1; }\n'],
      ['src/domain/new.ts', 'export const x = 1;\n'],
      ['package-lock.json', '{"lockfileVersion":3,"packages":{}}'],
      ['node_modules/@temporalio/worker/package.json', '{"version":"1.24.1"}'],
    ];
    const seen = new Set([k0]);
    for (const [file, content] of changes) {
      await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await fs.writeFile(path.join(root, file), content);
      const k = await bundleKey(wf, root);
      assert.ok(!seen.has(k), `${file} changed, so must the key`);
      seen.add(k);
    }
    // Moving content from one file to another is a change too (paths are part of the key).
    await fs.rename(path.join(root, 'src/domain/new.ts'), path.join(root, 'src/domain/moved.ts'));
    assert.ok(!seen.has(await bundleKey(wf, root)));
  });

  test('built once, then read back the same; an unwritable cache only means building again', async () => {
    const cache = path.join(tmp, 'cache');
    const first = await workflowBundle(WORKFLOWS_PATH, cache);
    const files = await fs.readdir(cache);
    assert.deepEqual(files, [`${await bundleKey()}.js`], 'one whole bundle, no temporary file left');
    // Read back, not rebuilt: a marker written into the cached file comes back.
    const cached = path.join(cache, files[0]!);
    await fs.appendFile(cached, '\n// marker\n');
    const second = await workflowBundle(WORKFLOWS_PATH, cache);
    assert.equal(second.code, `${first.code}\n// marker\n`);

    const blocked = path.join(tmp, 'a-file');
    await fs.writeFile(blocked, '');
    const third = await workflowBundle(WORKFLOWS_PATH, path.join(blocked, 'cache'));
    assert.equal(third.code, first.code);
  });
});
