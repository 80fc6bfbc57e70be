// tsx's disk cache (<tmpdir>/tsx-<uid>) holds code that tsx runs. bin/nblc.js uses it only if it
// is this user's own folder, writable by no one else; otherwise nblc starts with the cache off
// and says so. Each case runs `nblc user-token --help` for real with its own TMPDIR, through tsx
// (NBLC_CLI_BUNDLE=off: what nblc does when its bundle cannot be built, bin/cli-bundle.js): one
// command's modules, loaded as every command loads its own (src/main.ts), not all of them.
//   node --import tsx --test test/bin/tsx-cache.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runNblc } from '../helpers/processes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-tsx-cache-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const uid = process.geteuid!();

/** A TMPDIR of its own for one case, and where tsx would cache in it. */
function tmpdir(name: string) {
  const tmp = path.join(dir, name);
  fs.mkdirSync(tmp, { mode: 0o1777 });
  fs.chmodSync(tmp, 0o1777); // like /tmp: anyone may create entries, only owners remove them
  return { tmp, cache: path.join(tmp, `tsx-${uid}`) };
}

const help = (tmp: string) => runNblc(['user-token', '--help'], { TMPDIR: tmp, NBLC_CLI_BUNDLE: 'off' });

test('no cache folder yet: nblc creates it, private (0700), and caches there', () => {
  const { tmp, cache } = tmpdir('fresh');
  const r = help(tmp);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /cache is off/);
  const st = fs.lstatSync(cache);
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o777, 0o700);
  assert.equal(st.uid, uid);
  assert.ok(fs.readdirSync(cache).length > 0, 'tsx cached the compiled sources');
});

test('a cache folder others may write into is not used', () => {
  const { tmp, cache } = tmpdir('shared');
  fs.mkdirSync(cache);
  fs.chmodSync(cache, 0o777);
  const r = help(tmp);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nblc: tsx's disk cache is off \(.*is writable by others\)/);
  assert.deepEqual(fs.readdirSync(cache), [], 'nothing read or written there');
});

test("a link planted in the cache folder's place is not followed", () => {
  const { tmp, cache } = tmpdir('link');
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(elsewhere, { mode: 0o700 });
  fs.symlinkSync(elsewhere, cache);
  const r = help(tmp);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /tsx's disk cache is off \(.*is not a folder\)/);
  assert.deepEqual(fs.readdirSync(elsewhere), []);
});

test(
  "another user's cache folder is not used (a kernel user's, when nblc runs as root)",
  {
    skip: uid !== 0 || spawnSync('id', ['nblc-kernel']).status !== 0,
  },
  () => {
    const { tmp, cache } = tmpdir('other-user');
    fs.mkdirSync(cache, { mode: 0o700 });
    const kernelUid = Number(spawnSync('id', ['-u', 'nblc-kernel'], { encoding: 'utf8' }).stdout);
    fs.chownSync(cache, kernelUid, kernelUid);
    const r = help(tmp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`tsx's disk cache is off \\(.*belongs to uid ${kernelUid}, not to this user`));
    assert.deepEqual(fs.readdirSync(cache), []);
  },
);
