// Two notebooks at once, as the same kernel user: neither sees the other's files, processes or
// kernel channel. A writes a secret into its folder and /tmp and waits; B, meanwhile, searches
// everything it can see for it and lists the processes and sockets it can reach. Nor do they
// share the host's network, unless NBLC_KERNEL_NETWORK=host says so
// (test/system/sandbox/containment.test.ts has the rest of the network boundary).
//   node --import tsx --test test/system/sandbox/concurrent.test.ts
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { executorEnv, forkExecutor, forkServerFor } from '../../../src/activities/runs/executor-process.js';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { loadConfig, PROJECT_ROOT } from '../../../src/platform/config.js';
import { notebookJson } from '../../helpers/notebooks.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const SECRET = `only-for-a-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-concurrent-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const snapshot = path.join(dir, 'snapshot');
const config = loadConfig({
  PATH: process.env.PATH,
  NBLC_REPO_URL: '/x',
  NBLC_REPO_FULL_NAME: 'a/b',
  NBLC_DATA_DIR: dir,
});

// The secret is in neither notebook's source (the snapshot is for everyone to read): both
// hold its reverse and turn it around at run time.
const reversed = [...SECRET].reverse().join('');
const writer = notebookJson([
  `import time\nfor p in ['mine.txt', '/tmp/mine.txt', '/dev/shm/mine.txt']:\n    open(p, 'w').write('${reversed}'[::-1])\ntime.sleep(8)`,
]);
const reader = notebookJson([
  `import json, os, time
time.sleep(3)
wanted = '${reversed}'[::-1]
found = []
for top in ['/nblc', '/tmp', '/dev/shm']:
    for d, _, files in os.walk(top):
        for f in files:
            try:
                if wanted in open(os.path.join(d, f), errors='ignore').read():
                    found.append(os.path.join(d, f))
            except OSError:
                pass
pids = [p for p in os.listdir('/proc') if p.isdigit()]
print(json.dumps({'found': found, 'pids': pids, 'tmp': sorted(os.listdir('/tmp'))}))`,
]);

async function run(name: string, nb: string, extra: string[] = []) {
  fs.mkdirSync(path.join(snapshot, name), { recursive: true });
  fs.writeFileSync(path.join(snapshot, name, 'nb.ipynb'), nb);
  const out = path.join(dir, 'out', name);
  const args = ['--notebook', path.join(snapshot, name, 'nb.ipynb'), '--root', snapshot];
  args.push('--output', path.join(out, 'nb.ipynb'), '--result', path.join(out, 'r.json'));
  args.push('--scratch-root', path.join(out, 'tmp'), ...sandboxArgs(config), ...extra);
  const env = executorEnv(config.env);
  const proc = await forkExecutor((await forkServerFor(PYTHON, env).socket())!, args, path.join(dir, `${name}.log`));
  assert.equal(await proc.exited, 0, await proc.stderr());
  return fs.readFileSync(path.join(out, 'nb.ipynb'), 'utf8');
}

/**
 * The Python environment is bound read-only at its real path; a checkout under /tmp (as a CI
 * clone may be) therefore shows its top folder as a mount point in the kernel's private /tmp.
 */
const venv = fs.realpathSync(path.join(PROJECT_ROOT, '.venv'));
const mountedUnderTmp = venv.startsWith('/tmp/') ? venv.split('/')[2] : undefined;

test('concurrent notebooks cannot see each other', { timeout: 120_000 }, async () => {
  const [, b] = await Promise.all([run('a', writer), run('b', reader)]);
  const cell = (JSON.parse(b) as { cells: Array<{ outputs: Array<{ text?: string }> }> }).cells[0]!;
  const seen = JSON.parse(cell.outputs.map((o) => o.text ?? '').join('')) as Record<string, string[]>;
  assert.deepEqual(seen.found, [], 'A’s secret is nowhere in B’s view');
  assert.deepEqual(seen.pids, ['1'], 'B sees only itself');
  assert.deepEqual(
    seen.tmp!.filter((f) => !f.startsWith('nblc-k-') && f !== '.ipython' && f !== mountedUnderTmp),
    [],
    'B’s /tmp is its own (its kernel folder, IPython’s folder in HOME=/tmp, the Python environment’s mount point)',
  );
  assert.equal(seen.tmp!.filter((f) => f.startsWith('nblc-k-')).length, 1);
});

test('a service on the host’s loopback: out of reach by default, reached with NBLC_KERNEL_NETWORK=host', async () => {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.end('hello from the platform');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const nb = notebookJson([
      `import urllib.request\nprint(urllib.request.urlopen('http://127.0.0.1:${port}/', timeout=30).read().decode())`,
    ]);
    const isolated = await run('network', nb);
    assert.doesNotMatch(isolated, /hello from the platform/);
    assert.match(isolated, /Connection refused/);
    assert.equal(requests, 0);
    const shared = await run('network-host', nb, ['--network', 'host']);
    assert.match(shared, /hello from the platform/);
    assert.equal(requests, 1);
  } finally {
    server.close();
  }
});
