/**
 * The README's first command: the whole life cycle on the embedded default. It starts the
 * stack, creates a sample upstream repository, sends a correctly signed beacon over HTTP, waits
 * for the published snapshot and prints where everything is.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { importReports } from '../activities/runs/history.js';
import { loadConfig } from '../platform/config.js';
import { historyStore } from '../storage/runs/history-store.js';
import { createLogger } from '../platform/logger.js';
import { provisionDemoUser, updateDemoUser } from './copies.js';
import { createUpstream, notebook, sendPush } from './sample-repo.js';
import { runUntilSignal, startStack, type Stack } from '../process/stack.js';
import { summaryText } from '../domain/runs/summary.js';
import { getRun, startTestRun } from '../clients/runs/client.js';
import { querySync } from '../clients/sync/client.js';

const REPO = 'demo/notebooks-latest';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function waitForPublished(stack: Stack, sha: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await querySync(stack.client, stack.config);
    if (status?.published?.sha === sha) return;
    if (status?.lastError) throw new Error(`sync failed: ${status.lastError.message}`);
    if (Date.now() > deadline) throw new Error(`commit ${sha} was not published within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sendBeacon(stack: Stack, secret: string, before: string, after: string) {
  const res = await sendPush(`${stack.api!.url}/webhooks/github`, secret, { repo: REPO, before, after });
  const json = (await res.json()) as { workflowId: string; runId: string; temporalUiUrl: string };
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function runDemo(opts: { keepRunning: boolean }): Promise<number> {
  // Never the service's NBLC_DATA_DIR: the demo wipes its directory on every run.
  const dataDir = path.resolve(process.env.NBLC_DEMO_DIR ?? '.nblc/demo');
  await fs.rm(dataDir, { recursive: true, force: true });
  const upstream = await createUpstream(path.join(dataDir, 'upstream'));
  const first = await upstream.commit(
    {
      'README.md': '# Demo notebooks\n',
      '01_GettingStarted/Hello World.ipynb': notebook(['print("hello from the notebooks cache")']),
      '03_ScienceExamples/data/stars.csv': 'ra,dec\n10.1,-5.2\n',
      '03_ScienceExamples/Read Stars.ipynb': notebook([
        'import csv\nrows = list(csv.DictReader(open("data/stars.csv")))\nlen(rows)',
      ]),
      '04_HowTos/Retired Service.ipynb': notebook([
        'import urllib.request',
        'raise ConnectionError("the old query service at http://dldb1.example.org was retired")',
      ]),
    },
    'Initial notebooks',
  );

  const secret = randomBytes(24).toString('hex');
  // The operator token of this demo: it opens the dashboard (and the operator API).
  const apiToken = randomBytes(18).toString('hex');
  const defaultPorts = (await portFree(7233)) && (await portFree(8233));
  const config = loadConfig({
    ...process.env,
    // Everything lives under the demo's own directory, whatever the environment says.
    NBLC_DATA_DIR: dataDir,
    NBLC_CACHE_DIR: undefined,
    NBLC_RESULTS_DIR: undefined,
    NBLC_USERS_DIR: undefined,
    NBLC_REPO_URL: upstream.url,
    NBLC_REPO_FULL_NAME: REPO,
    NBLC_BRANCH: 'main',
    NBLC_WEBHOOK_SECRET: secret,
    NBLC_WEBHOOK_SECRET_FILE: undefined,
    NBLC_API_TOKEN: apiToken,
    NBLC_API_TOKEN_FILE: undefined,
    NBLC_PORT: '0',
    NBLC_TEMPORAL_PORT: defaultPorts ? '7233' : '0',
    NBLC_TEMPORAL_UI_PORT: defaultPorts ? '8233' : '0',
    NBLC_TEMPORAL_UI_URL: undefined,
    TEMPORAL_ADDRESS: undefined,
    NBLC_LOG_LEVEL: process.env.NBLC_LOG_LEVEL ?? 'warn',
    // The demo's notebooks need no network: kernels get loopback only, so a new machine needs
    // no slirp4netns (the default `outbound`, docs/security.md "The network boundary").
    NBLC_KERNEL_NETWORK: 'none',
  });
  const logger = createLogger(config.logLevel);
  const say = (s = '') => console.log(s);

  say('nblc demo: starting the embedded Temporal server, the worker and the HTTP API ...');
  say('  kernels run with NBLC_KERNEL_NETWORK=none (loopback only): the demo notebooks need no network');
  const stack = await startStack(config, { worker: true, api: true, embed: true, logger });
  // Ctrl-C during the demo still stops the embedded server (no orphan processes).
  const interrupted = (sig: NodeJS.Signals) =>
    void stack.stop().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    say(`  Temporal UI: ${stack.config.temporal.uiUrl}`);
    say(`  webhook:     POST ${stack.api!.url}/webhooks/github`);
    say(`\n1. A PR is merged upstream (${upstream.url}): commit ${first}`);
    const started = await sendBeacon(stack, secret, '0'.repeat(40), first);
    say(`   signed beacon accepted: workflow ${started.workflowId}`);
    await waitForPublished(stack, first);
    say(`   published: ${config.cacheDir}/current -> snapshots/${first}`);
    // demo step: after the first publish (user copies are provisioned here)
    await provisionDemoUser(stack, say);

    const second = await upstream.commit(
      { '01_GettingStarted/Hello World.ipynb': notebook(['print("hello again, from the second merge")']) },
      'Merge pull request #2: friendlier greeting',
    );
    say(`\n2. Another merge: commit ${second}`);
    const again = await sendBeacon(stack, secret, first, second);
    await waitForPublished(stack, second);
    const snapshot = await fs.realpath(path.join(config.cacheDir, 'current'));
    say(`   published atomically (readers never saw a partial tree)`);
    // demo step: after the second publish (user copies are updated here)
    await updateDemoUser(stack, say);
    // demo step: notebook test run
    say('\n3. A test run executes every notebook of the published snapshot (merges also start one):');
    const run = await startTestRun(stack.client, stack.config, { kind: 'manual' });
    let state = await getRun(stack.client, run.runId);
    while (!state?.result) {
      if (state && state.status !== 'RUNNING') throw new Error(`test run ${state.status}: ${state.error}`);
      await new Promise((r) => setTimeout(r, 250));
      state = await getRun(stack.client, run.runId);
    }
    console.log(summaryText(state.result));
    say(`   run in the Temporal UI: ${run.temporalUiUrl}`);
    // The worker imported the reports it found when it started; this run came after. (Until the
    // workflow records its runs itself; importing is idempotent.)
    await importReports(config.resultsDir, await historyStore(config));

    say('\nResult');
    say(`  snapshot:    ${snapshot}`);
    say(`  commit:      ${second}`);
    say(`  workflow ID: ${again.workflowId}`);
    say(`  Temporal UI: ${again.temporalUiUrl}`);
    say(`  dashboard:   ${stack.api!.url}/  (log in with the operator token ${apiToken})`);
    if (!opts.keepRunning) {
      say(
        `\nHistory is kept in ${config.temporal.embedded.dbFile}; "npm run demo -- --keep-running" keeps the UI and the dashboard up.`,
      );
      return 0;
    }
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    say('\nThe stack keeps running; stop it with Ctrl-C.');
    return await runUntilSignal(stack, logger);
  } finally {
    await stack.stop();
  }
}
