// A kernel cannot steer the executor's connections to it (docs/security.md, "Its own kernel
// channel"): the executor, outside the sandbox and as root here, connects to the kernel's ZeroMQ
// sockets in a folder the kernel can write. A notebook replaces each socket with a link to a
// Unix socket of the host (a listener this test opens, standing in for a service's socket) and
// dies, so that ZeroMQ reconnects: through the link it would reach the host's socket as root.
// The executor connects through descriptors of the sockets it found, never by name again.
//   node --import tsx --test test/system/sandbox/kernel-channel.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { executorEnv, forkExecutor, forkServerFor } from '../../../src/activities/runs/executor-process.js';
import { loadConfig, PROJECT_ROOT } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { notebookJson } from '../../helpers/notebooks.js';
import { sandboxedArgs } from './sandboxed-run.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-channel-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const cannotRun = process.getuid?.() === 0 ? false : 'needs root (the executor runs kernels as NBLC_KERNEL_USER)';

/** A Unix socket on the host that counts who connects. */
async function trap(file: string) {
  const seen = { connections: 0 };
  const server = net.createServer((s) => {
    seen.connections++;
    s.destroy();
  });
  await new Promise<void>((res) => server.listen(file, res));
  return { seen, close: () => new Promise<void>((res) => server.close(() => res())) };
}

const hijack = (target: string) => `import glob, os, sys, time
from ipykernel.kernelapp import IPKernelApp
folder = os.path.dirname(IPKernelApp.instance().connection_file)
planted = 0
for p in glob.glob(folder + '/*'):
    if not p.endswith('.json'):
        os.unlink(p); os.symlink(${JSON.stringify(target)}, p); planted += 1
print('planted', planted, flush=True)
time.sleep(0.5)
os._exit(0)  # the executor's sockets reconnect by name`;

describe('the kernel channel', { skip: cannotRun, timeout: 300_000 }, () => {
  test('a kernel that links its sockets to a host socket and dies: the executor never connects there', async () => {
    const target = path.join(root, 'service.sock');
    const t = await trap(target);
    try {
      const snapshot = path.join(root, 'snapshots', 'c'.repeat(40));
      const nb = path.join(snapshot, 'nbs', 'hijack.ipynb');
      fs.mkdirSync(path.dirname(nb), { recursive: true });
      fs.writeFileSync(nb, notebookJson([hijack(target), 'print("not reached")']));
      const config = loadConfig({
        ...process.env,
        NBLC_REPO_URL: 'file:///nonexistent',
        NBLC_REPO_FULL_NAME: 'channel/suite',
        NBLC_DATA_DIR: path.join(root, 'data'),
        NBLC_KERNEL_NETWORK: 'none',
      });
      const runDir = path.join(root, 'results');
      const args = sandboxedArgs(config, { notebook: nb, root: snapshot, runDir, cellTimeoutS: 60 });
      const env = executorEnv(config.env, config.sandbox.kernelEnv);
      const log = path.join(root, 'executor.log');
      const proc = await forkExecutor((await forkServerFor(PYTHON, env).socket())!, args, log);
      assert.equal(await proc.exited, 0, await proc.stderr());
      const result = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')) as ExecutorResult;
      const executed = fs.readFileSync(path.join(runDir, 'executed.ipynb'), 'utf8');
      assert.match(executed, /planted [1-9]/, 'the kernel replaced its sockets with links');
      assert.equal(result.status, 'kernel_died', result.message ?? '');
      assert.equal(t.seen.connections, 0, "the executor connected to the host's socket through a planted link");
    } finally {
      await t.close();
    }
  });
});
