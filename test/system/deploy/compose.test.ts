/**
 * docker-compose.yml for real: the stack set up as docs/deployment.md tells an operator, started
 * with `docker compose up`, and driven only from outside, as GitHub and an operator would: signed
 * beacons to the API's published port, `docker compose exec`, the Temporal UI's port. Runs through
 * `npm run test:deploy` (scripts/test-deploy.sh builds the images and starts dockerd); `npm test`
 * skips it and says so.
 *
 *   npm run test:deploy
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createUpstream, notebook, sendPush, type Upstream } from '../../../src/demo/sample-repo.js';
import type { RunListEntry, RunState } from '../../../src/clients/runs/client.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { waitFor } from '../../helpers/fixtures.js';
import { removeTree } from '../../../src/activities/files.js';
import {
  compose,
  composeOk,
  deployTempDir,
  docsBlock,
  freeHostPort,
  http,
  nblc,
  operatorCheckout,
  sh,
  skipDeploy,
  upstreamService,
} from '../../helpers/deploy.js';

const REPO = 'deploy-test/notebooks';
const PROJECT = 'nblc-deploy-test';
const QUICK = {
  'intro/hello.ipynb': notebook(['print("hello from the container")']),
  'intro/broken.ipynb': notebook(['raise ValueError("broken on purpose")']),
  // Inside the sandbox: its own hostname, and the worker's secrets out of sight.
  'checks/sandbox.ipynb': notebook([
    'import socket, os\nassert socket.gethostname() == "nblc", socket.gethostname()',
    'assert not os.path.exists("/run/secrets/git_token")',
    // NBLC_KERNEL_NETWORK=outbound (the default): the compose network's services are out of reach.
    'for host, port in [("temporal", 7233), ("api", 8080), ("postgres", 5432)]:\n' +
      '    try:\n' +
      '        socket.create_connection((host, port), timeout=5).close()\n' +
      '    except OSError:\n' +
      '        continue\n' +
      '    raise AssertionError(f"the kernel reached {host}:{port}")',
  ]),
};
const SLOW = Object.fromEntries(
  [1, 2, 3, 4].map((i) => [`slow/s${i}.ipynb`, notebook([`import time\ntime.sleep(20)\nprint(${i})`])]),
);

describe('docker compose, for real', { skip: skipDeploy }, () => {
  let dir = '';
  let repos = '';
  let upstream: Upstream;
  let api = '';
  let ui = '';
  let token = '';
  let webhookSecret = '';

  const runs = async (): Promise<RunListEntry[]> =>
    ((await (await http(`${api}/runs?limit=200`, token)).json()) as { runs: RunListEntry[] }).runs;
  const mergeRunOf = (sha: string) =>
    waitFor(
      `the merge run of ${sha.slice(0, 7)}`,
      async () => (await runs()).find((r) => r.kind === 'merge' && r.commit === sha),
      600_000,
    );
  const finished = (runId: string) =>
    waitFor(
      `run ${runId} to finish`,
      async () => {
        const s = (await (await http(`${api}/runs/${runId}`, token)).json()) as RunState;
        if (s.status !== 'RUNNING' && !s.result) throw new Error(`run ${runId}: ${s.status} ${s.error}`);
        return s.result ? s : undefined;
      },
      900_000,
    );
  const published = () => nblc(dir, 'worker', ['status', '--json']);
  const current = async () => {
    const r = compose(dir, ['exec', '-T', 'worker', 'readlink', '/srv/nblc/cache/current']);
    return r.code === 0 ? path.basename(r.stdout.trim()) : null;
  };
  const beacon = async (before: string, after: string) => {
    const res = await sendPush(`${api}/webhooks/github`, webhookSecret, { repo: REPO, before, after });
    assert.equal(res.status, 202, await res.text());
  };
  const waitPublished = (sha: string) =>
    waitFor(`snapshot ${sha.slice(0, 7)} published`, async () => (await current()) === sha, 600_000);

  // The waits below poll with fetch and child processes only; this keeps the event loop (and so
  // the suite) alive between them, whatever timers those unref.
  let keepAlive: NodeJS.Timeout | undefined;

  before(async () => {
    keepAlive = setInterval(() => {}, 60_000);
    dir = await operatorCheckout();
    repos = await deployTempDir('nblc-deploy-upstream-');
    upstream = await createUpstream(repos);
    // git daemon serves repositories it may read; the bare one is the test's, shared read-only.
    await fs.chmod(repos, 0o755);
    const apiPort = await freeHostPort();
    const uiPort = await freeHostPort();
    // 1. Settings: the docs' .env with this repository, then the images of this machine
    // ("Without Docker Hub", cached by scripts/test-deploy.sh: seconds), then what only the test
    // sets: its project name, host ports free here, its upstream service.
    const env = (await docsBlock('1. Settings: `.env`'))
      .replace('https://github.com/OWNER/NAME.git', 'git://upstream/notebooks.git')
      .replace('OWNER/NAME', REPO);
    assert.equal(sh(dir, env).code, 0);
    const local = sh(dir, await docsBlock('Without Docker Hub'), 1_800_000);
    assert.equal(local.code, 0, local.stderr);
    const testFile = await upstreamService(dir, repos);
    await fs.appendFile(
      path.join(dir, '.env'),
      [
        `COMPOSE_FILE=docker-compose.yml:docker-compose.local.yml:${testFile}`,
        `COMPOSE_PROJECT_NAME=${PROJECT}`,
        `NBLC_API_HOST_PORT=127.0.0.1:${apiPort}`,
        `TEMPORAL_UI_HOST_PORT=${uiPort}`,
        'NBLC_TEST_CONCURRENCY=2',
        '',
      ].join('\n'),
    );
    // An earlier, interrupted run's stack and volumes (its database password is not this one's).
    composeOk(dir, ['down', '--volumes', '--remove-orphans']);
    // 2. Secrets, exactly the docs' commands (the git token stays the placeholder: git:// sends
    // none); they build the nblc image to make the Temporal certificates.
    const secrets = sh(dir, await docsBlock('2. Secrets'), 1_800_000);
    assert.equal(secrets.code, 0, secrets.stderr);
    token = (await fs.readFile(path.join(dir, 'secrets', 'api_token'), 'utf8')).trim();
    webhookSecret = (await fs.readFile(path.join(dir, 'secrets', 'webhook_secret'), 'utf8')).trim();
    api = `http://127.0.0.1:${apiPort}`;
    ui = `http://127.0.0.1:${uiPort}`;
    // 3. Start, as the docs say.
    const start = (await docsBlock('3. Start')).split('\n')[0]!;
    assert.equal(start, 'docker compose up -d --build');
    composeOk(dir, start.split(' ').slice(2), 1_800_000);
    await waitFor('the API ready', async () => (await http(`${api}/readyz`).catch(() => null))?.ok, 600_000);
  });

  after(async () => {
    clearInterval(keepAlive);
    if (!dir) return;
    if (process.env.NBLC_DEPLOY_KEEP) return console.log(`kept: docker compose in ${dir}`);
    // What the services said, for a failure's diagnosis once the stack is gone.
    const logs = path.join(os.tmpdir(), `${PROJECT}.log`);
    await fs.writeFile(logs, compose(dir, ['logs', '--no-color', '--timestamps']).stdout);
    console.log(`the services' logs: ${logs}`);
    compose(dir, ['down', '--volumes', '--remove-orphans']);
    for (const d of [dir, repos]) if (d) await removeTree(d);
  });

  test('the one-shot services did their work and the long-running ones are up', () => {
    const ps = composeOk(dir, ['ps', '--all', '--format', '{{.Service}} {{.State}} {{.ExitCode}}']);
    for (const s of ['temporal-schema', 'nblc-database', 'temporal-namespace'])
      assert.match(ps, new RegExp(`^${s} exited 0$`, 'm'));
    for (const s of ['postgres', 'temporal', 'temporal-ui', 'worker', 'api'])
      assert.match(ps, new RegExp(`^${s} running`, 'm'));
    const logs = composeOk(dir, ['logs', '--no-color', 'worker']);
    assert.match(logs, /notebook sandbox ready/, 'the worker sandboxes kernels inside its container');
  });

  let first = '';
  test('a signed beacon publishes a snapshot into the cache volume; the merge run executes sandboxed; the report opens', async () => {
    first = await upstream.commit(QUICK, 'Merge pull request #1');
    await beacon('0'.repeat(40), first);
    await waitPublished(first);
    const listed = composeOk(dir, ['exec', '-T', 'worker', 'ls', '/srv/nblc/cache/current/intro']);
    assert.deepEqual(listed.trim().split('\n').sort(), ['broken.ipynb', 'hello.ipynb']);
    const run = await mergeRunOf(first);
    const state = await finished(run.runId);
    const byPath = Object.fromEntries(state.result!.notebooks.map((nb) => [nb.path, nb.status]));
    assert.deepEqual(byPath, {
      'checks/sandbox.ipynb': 'passed',
      'intro/broken.ipynb': 'failed',
      'intro/hello.ipynb': 'passed',
    });
    const report = (await (await http(`${api}/runs/${run.runId}/report.json`, token)).json()) as TestReport;
    assert.ok(!report.unsandboxed, 'no notebook ran unsandboxed');
    for (const nb of report.notebooks) {
      assert.equal(nb.sandbox, 'on', nb.path);
      assert.equal(nb.network, 'outbound', nb.path);
    }
    const page = await http(`${api}/runs/${run.runId}/report.html`, token);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /broken on purpose/);
  });

  test('nblc runs with docker compose exec; a user copy lands in the users volume, owned by nblc', async () => {
    const status = published();
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(first));
    const copy = nblc(dir, 'api', ['copy', 'ada', '--mode', 'provision']);
    assert.equal(copy.code, 0, copy.stderr + copy.stdout);
    const owner = composeOk(dir, [
      'exec',
      '-T',
      'worker',
      'stat',
      '-c',
      '%u:%g %n',
      '/srv/nblc/users/ada/notebooks',
      '/srv/nblc/users/ada/notebooks/intro/hello.ipynb',
    ]);
    for (const line of owner.trim().split('\n')) assert.match(line, /^10001:10001 /);
  });

  test("the Temporal frontend refuses a client without nblc's certificate, inside the stack too", () => {
    // From the api container, which reaches temporal:7233: the CA alone is not enough.
    const probe = [
      "const { Connection } = require('@temporalio/client');",
      "const fs = require('node:fs');",
      "const ca = fs.readFileSync('/run/secrets/temporal_tls_ca');",
      'const tryIt = (tls) => Connection.connect({ address: "temporal:7233", tls, connectTimeout: 15000 })',
      '  .then((c) => c.workflowService.getSystemInfo({}).then(() => c.close()))',
      "  .then(() => 'accepted', (e) => 'refused');",
      '(async () => {',
      "  console.log('without', await tryIt({ serverRootCACertificate: ca }));",
      "  const crt = fs.readFileSync('/run/secrets/temporal_tls_nblc_cert');",
      "  const key = fs.readFileSync('/run/secrets/temporal_tls_nblc_key');",
      "  console.log('with', await tryIt({ serverRootCACertificate: ca, clientCertPair: { crt, key } }));",
      '})();',
    ].join('\n');
    const out = composeOk(dir, ['exec', '-T', 'api', 'node', '-e', probe]);
    assert.match(out, /^without refused$/m, out);
    assert.match(out, /^with accepted$/m, out);
  });

  test('the Temporal Web UI answers and lists the workflows', async () => {
    const res = await http(
      `${ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent('WorkflowType="repoSync"')}`,
    );
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { executions?: Array<{ execution: { workflowId: string } }> };
    assert.ok(
      body.executions?.some((e) => e.execution.workflowId === `repo-sync:${REPO}`),
      JSON.stringify(body).slice(0, 500),
    );
    assert.equal((await http(`${ui}/`)).status, 200);
  });

  let second = '';
  test('docker compose restart worker mid-run: the run completes, every notebook reported once', async () => {
    second = await upstream.commit(SLOW, 'Merge pull request #2');
    await beacon(first, second);
    const run = await mergeRunOf(second);
    await waitFor(
      'notebooks running',
      async () => {
        const s = (await (await http(`${api}/runs/${run.runId}`, token)).json()) as RunState;
        return (s.progress?.running.length ?? 0) > 0;
      },
      600_000,
    );
    composeOk(dir, ['restart', 'worker']);
    const state = await finished(run.runId);
    const paths = state.result!.notebooks.map((nb) => nb.path);
    assert.deepEqual(paths, Object.keys(SLOW).sort());
    const report = (await (await http(`${api}/runs/${run.runId}/report.json`, token)).json()) as TestReport;
    assert.deepEqual(report.notebooks.map((nb) => nb.path).sort(), Object.keys(SLOW).sort());
    for (const nb of report.notebooks) assert.equal(nb.status, 'passed', nb.path);
  });

  test('docker compose down and up again keep the history, the snapshots and the copies', async () => {
    composeOk(dir, ['down']);
    composeOk(dir, ['up', '-d'], 900_000);
    await waitFor('the API ready again', async () => (await http(`${api}/readyz`).catch(() => null))?.ok, 600_000);
    assert.equal(await current(), second);
    const kinds = (await runs()).filter((r) => r.kind === 'merge').map((r) => r.commit);
    assert.ok(kinds.includes(first) && kinds.includes(second), 'the runs are still in Temporal');
    const notebooks = await (await http(`${api}/notebooks`, token)).text();
    assert.match(notebooks, /intro\/broken\.ipynb/);
    composeOk(dir, ['exec', '-T', 'worker', 'test', '-f', '/srv/nblc/users/ada/notebooks/intro/hello.ipynb']);
  });
});
