/** The git wrapper every activity uses: settings of the machine must not leak into our results. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createSyncActivities } from '../../../src/activities/sync/index.js';
import { sandbox, tempDir } from '../../helpers/fixtures.js';
import { runActivity } from '../../helpers/activities.js';

test("the worker user's ~/.gitconfig cannot change the bytes that are published", async () => {
  const { config, upstream } = await sandbox();
  const sha = await upstream.commit({ 'Notes.txt': 'line one\nline two\n' });
  const home = await tempDir('nblc-home-');
  // Would turn LF into CRLF on checkout, and break the export, if nblc honoured it.
  await fs.writeFile(
    path.join(home, '.gitconfig'),
    '[core]\n\tautocrlf = true\n[filter "lfs"]\n\tsmudge = false\n\trequired = true\n',
  );
  await fs.writeFile(path.join(upstream.workDir, '.gitattributes'), 'Data.bin filter=lfs\n');
  const withAttributes = await upstream.commit({ 'Data.bin': 'payload\n' });
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    const acts = createSyncActivities(config);
    await runActivity(acts.fetchBranch);
    await runActivity(acts.publishSnapshot, { sha });
    const snapshot = path.join(config.cacheDir, 'snapshots', sha);
    assert.equal(await fs.readFile(path.join(snapshot, 'Notes.txt'), 'utf8'), 'line one\nline two\n');
    await runActivity(acts.publishSnapshot, { sha: withAttributes });
    assert.equal(await fs.readFile(path.join(config.cacheDir, 'current', 'Data.bin'), 'utf8'), 'payload\n');
  } finally {
    process.env.HOME = saved;
  }
});
