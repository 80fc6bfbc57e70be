/**
 * The one way files that a notebook, a pull request or a user could have written are read
 * (src/platform/capped-read.ts): never through a link (also one swapped in while reading goes
 * on), never blocking on a FIFO, never past the cap, never a device.
 *   node --import tsx --test test/platform/capped-read.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readCapped, readCappedBytes, readJsonOrNull, readTextCapped } from '../../src/platform/capped-read.js';

let dir = '';
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-capped-'));
  await fs.writeFile(path.join(dir, 'secret'), 'root-only token');
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('a regular file under the cap is read whole; over it, refused with its size', async () => {
  const file = path.join(dir, 'plain.json');
  await fs.writeFile(file, '{"a": 1}');
  assert.deepEqual(await readCapped(file, 8), { kind: 'text', text: '{"a": 1}' });
  assert.deepEqual(await readJsonOrNull(file, 8), { a: 1 });
  const over = await readCapped(file, 7);
  assert.equal(over.kind, 'refused');
  assert.match(over.kind === 'refused' ? over.why : '', /8 bytes, more than the 7/);
  assert.equal(await readJsonOrNull(file, 7), null);
  assert.deepEqual(await readCapped(path.join(dir, 'none'), 8), { kind: 'missing' });
  await assert.rejects(readTextCapped(path.join(dir, 'none'), 8), { code: 'ENOENT' });
});

test('links are refused: to a secret, to /dev/zero, to a directory', async () => {
  const links: Array<[string, string]> = [
    ['to-secret', path.join(dir, 'secret')],
    ['to-zero', '/dev/zero'],
    ['to-dir', dir],
  ];
  for (const [name, target] of links) {
    const file = path.join(dir, name);
    await fs.symlink(target, file);
    assert.deepEqual(await readCapped(file, 1 << 20), { kind: 'refused', why: 'it is a symbolic link' }, name);
    await assert.rejects(readTextCapped(file, 1 << 20), { code: 'EFBIG' });
  }
});

test('a FIFO, a socket, a directory and a device are refused without blocking (more FIFOs than libuv has threads)', async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reads = await Promise.all(Array.from({ length: 8 }, () => readCapped(fifo, 1 << 20)));
  for (const r of reads) assert.deepEqual(r, { kind: 'refused', why: 'it is not a regular file' });
  const sock = path.join(dir, 'sock');
  const server = net.createServer().listen(sock);
  await new Promise((resolve) => server.once('listening', resolve));
  assert.equal((await readCapped(sock, 1 << 20)).kind, 'refused');
  server.close();
  assert.deepEqual(await readCapped(dir, 1 << 20), { kind: 'refused', why: 'it is a directory' });
  assert.deepEqual(await readCapped('/dev/zero', 1 << 20), { kind: 'refused', why: 'it is not a regular file' });
  assert.equal(await fs.readFile(path.join(dir, 'secret'), 'utf8'), 'root-only token', 'file calls still answer');
});

test('a link swapped in and out while reading goes on: never the secret, only the file or a refusal', async () => {
  const file = path.join(dir, 'swapped');
  const plain = path.join(dir, 'swap-plain');
  const link = path.join(dir, 'swap-link');
  let swapping = true;
  // renames are atomic: at every moment `file` is either the regular file or the link to the secret
  const swapper = (async () => {
    for (let i = 0; swapping; i++) {
      if (i % 2) await fs.symlink(path.join(dir, 'secret'), link).then(() => fs.rename(link, file));
      else await fs.writeFile(plain, 'public').then(() => fs.rename(plain, file));
    }
  })();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const r = await readCappedBytes(file, 1 << 20);
    seen.add(r.kind === 'bytes' ? r.bytes.toString() : r.kind === 'refused' ? r.why : r.kind);
  }
  swapping = false;
  await swapper;
  assert.ok(!seen.has('root-only token'), `read through the link: ${[...seen].join(', ')}`);
  assert.ok(seen.has('public'), 'the regular file was read at times');
});
