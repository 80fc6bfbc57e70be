/**
 * The super-notebook (supernotebook/nblc-tests.ipynb) as staff run it: executed with nbclient in a
 * real kernel against a running nblc API and worker, with parameters injected after the cell
 * tagged `parameters` (papermill's convention).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '../../../src/platform/logger.js';
import { startApi } from '../../../src/process/server.js';
import { PROJECT_ROOT } from '../../../src/platform/config.js';
import { operatorSuite } from '../../helpers/operator-suite.js';
import { publish, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();
const TOKEN = 'operator-token-for-the-supernotebook-0123456789';
const SUPERNOTEBOOK = path.join(PROJECT_ROOT, 'supernotebook', 'nblc-tests.ipynb');

/** Executes the super-notebook; returns every output's text (errors included) and whether it raised. */
const RUNNER = `
import json, sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
nb = nbformat.read(sys.argv[1], as_version=4)
params = json.loads(sys.argv[2])
at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
nb.cells.insert(at + 1, nbformat.v4.new_code_cell("\\n".join(f"{k} = {v!r}" for k, v in params.items())))
error = None
try:
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
except CellExecutionError as e:
    error = str(e)
texts = []
for c in nb.cells:
    for o in c.get("outputs", []):
        texts.append(o.get("text") or "")
        for mime in ("text/html", "text/plain"):
            texts.append((o.get("data") or {}).get(mime, ""))
        texts.append(" ".join(o.get("traceback") or []))
print(json.dumps({"error": error, "text": "\\n".join(texts)}))
`;

async function runSupernotebook(vars: Record<string, string>, params: Record<string, unknown> = {}) {
  const python = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
  const { stdout } = await promisify(execFile)(python, ['-c', RUNNER, SUPERNOTEBOOK, JSON.stringify(params)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 400_000,
  });
  return JSON.parse(stdout) as { error: string | null; text: string };
}

describe('the super-notebook', () => {
  test('starts a run, follows it, and shows the summary, root causes, newly failing notebooks and the report link', async () => {
    const { dir, config, good, broken } = await operatorSuite('supernb', TOKEN);
    const tokenFile = path.join(dir, 'operator-token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const api = await startApi({ client: env.client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
    try {
      await withWorkers(env, config, async () => {
        const vars = { NBLC_URL: api.url, NBLC_TOKEN_FILE: tokenFile };
        await publish(env, config, good);
        const before = await runSupernotebook(vars, { exclude: ['04_HowTos/**'] });
        assert.equal(before.error, null, before.error ?? '');
        assert.match(before.text, /4 passed, 0 not passed of 4/);
        assert.doesNotMatch(before.text, /Root causes|Newly failing/);

        await publish(env, config, broken);

        const out = await runSupernotebook(vars, { exclude: ['04_HowTos/**'] });
        assert.equal(out.error, null, out.error ?? '');
        assert.match(out.text, /Started run <code>manual-/);
        assert.match(out.text, /2 passed, 2 not passed of 4/);
        // The two notebooks that share a first error are one cause, not two.
        assert.match(out.text, /Root causes/);
        assert.match(out.text, /<b>2<\/b><\/td><td>failed<\/td><td><code>ModuleNotFoundError: No module named/);
        assert.doesNotMatch(out.text, /Retired Service/, 'exclude reached the run');
        assert.match(
          out.text,
          /Newly failing<\/h4><ul><li>02_Data\/Plot Stars\.ipynb<\/li><li>02_Data\/Query Stars\.ipynb<\/li>/,
        );
        assert.match(out.text, /href="http:\/\/127\.0\.0\.1:\d+\/runs\/manual-[^"]+\/~[^"]+\/report\.html"/);
        const runId = /Started run <code>([^<]+)<\/code>/.exec(out.text)![1]!;

        // An existing run is shown, not started again.
        const shown = await runSupernotebook(vars, { run_id: runId });
        assert.equal(shown.error, null, shown.error ?? '');
        assert.match(shown.text, new RegExp(`Showing run <code>${runId}</code> \\(completed\\)`));
        assert.match(shown.text, /2 passed, 2 not passed of 4/);
      });

      // Clear messages for what staff can get wrong.
      const missing = await runSupernotebook({ NBLC_URL: api.url, NBLC_TOKEN_FILE: path.join(dir, 'nope') });
      assert.match(missing.error ?? '', /No operator token file at .*nope/);
      await fs.writeFile(path.join(dir, 'wrong'), 'not-the-token');
      const wrong = await runSupernotebook({ NBLC_URL: api.url, NBLC_TOKEN_FILE: path.join(dir, 'wrong') });
      assert.match(wrong.error ?? '', /refused the operator token .* NBLC_API_TOKEN/);
    } finally {
      await api.close();
    }
    const down = await runSupernotebook({ NBLC_URL: api.url, NBLC_TOKEN_FILE: tokenFile });
    assert.match(down.error ?? '', /The nblc service at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
  });
});
