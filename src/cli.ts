/** `nblc`: the command line. Each command loads the one validated config from the environment. */
import { Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ConfigError, loadConfig, type Config } from './config.js';
import { syncWorkflowId, temporalUiLink, type Beacon } from './domain.js';
import { createLogger } from './logger.js';
import { runUntilSignal, startStack } from './stack.js';
import { querySync, signalSync } from './sync-client.js';
import { connectClient } from './temporal.js';

const program = new Command()
  .name('nblc')
  .description('Notebook life cycle service: sync the notebooks cache on verified merge beacons, on Temporal')
  .showHelpAfterError();

function config(): Config {
  return loadConfig(process.env);
}

async function serve(parts: { worker: boolean; api: boolean; embed: boolean }): Promise<void> {
  const cfg = config();
  const logger = createLogger(cfg.logLevel);
  const stack = await startStack(cfg, { ...parts, logger });
  const c = stack.config;
  const lines = [
    `nblc is running (${[parts.worker && 'worker', parts.api && 'API'].filter(Boolean).join(' + ')}).`,
    `  Temporal:   ${c.temporal.address}${stack.embedded ? ` (embedded, history in ${c.temporal.embedded.dbFile})` : ''}`,
    `  Temporal UI: ${c.temporal.uiUrl}/namespaces/${c.temporal.namespace}/workflows`,
  ];
  if (stack.api) lines.push(`  Webhook:    POST ${stack.api.url}/webhooks/github`);
  if (parts.worker) lines.push(`  Cache:      ${c.cacheDir}/current`);
  lines.push('Stop with Ctrl-C.');
  console.log(lines.join('\n'));
  process.exitCode = await runUntilSignal(stack, logger);
}

program
  .command('start')
  .description('run the worker and the HTTP API (and an embedded Temporal server when TEMPORAL_ADDRESS is unset)')
  .action(() => serve({ worker: true, api: true, embed: true }));

program
  .command('worker')
  .description('run only the Temporal worker (TEMPORAL_ADDRESS, or the server of a running "nblc start")')
  .action(() => serve({ worker: true, api: false, embed: false }));

program
  .command('api')
  .description('run only the HTTP API (webhook, health)')
  .action(() => serve({ worker: false, api: true, embed: false }));

program
  .command('sync')
  .description('pull now: ask the sync workflow to publish the branch tip (or --sha), like a merge beacon')
  .option('--sha <sha>', 'publish this commit of the branch instead of the tip')
  .option('--wait', 'wait until the sync finished and exit 1 if it failed')
  .addOption(new Option('--timeout <seconds>', 'with --wait: give up after this long').default('300').argParser(Number))
  .action(async (opts: { sha?: string; wait?: boolean; timeout: number }) => {
    const cfg = config();
    if (opts.sha && !/^[0-9a-f]{7,40}$/.test(opts.sha)) throw new UsageError('--sha takes a commit SHA (7 to 40 hex digits)');
    const client = await connectClient(cfg);
    try {
      const beacon: Beacon = {
        deliveryId: `manual-${randomUUID()}`,
        sha: opts.sha ?? null,
        before: null,
        pusher: os.userInfo().username,
        source: 'operator',
        receivedAt: new Date().toISOString(),
      };
      const started = await signalSync(client, cfg, beacon);
      console.log(`requested ${beacon.deliveryId}\n  workflow: ${started.workflowId}\n  ${started.temporalUiUrl}`);
      if (!opts.wait) return;
      const deadline = Date.now() + opts.timeout * 1000;
      for (;;) {
        const status = await querySync(client, cfg);
        const record = status?.recentDeliveries.find((d) => d.deliveryId === beacon.deliveryId);
        if (record && !['pending', 'running'].includes(record.outcome)) {
          console.log(`${record.outcome}: published ${status?.published?.sha ?? '(nothing)'}${record.error ? `\n  ${record.error}` : ''}`);
          process.exitCode = record.outcome === 'failed' ? 1 : 0;
          return;
        }
        if (Date.now() > deadline) {
          throw new UsageError(`no result after ${opts.timeout}s: is a worker ("nblc start" or "nblc worker") polling task queue ${cfg.taskQueue}?`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('status')
  .description('show what is published, pending and failing (the sync workflow\'s status query)')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const cfg = config();
    const client = await connectClient(cfg);
    try {
      const status = await querySync(client, cfg);
      if (opts.json) return void console.log(JSON.stringify(status, null, 2));
      const id = syncWorkflowId(cfg.repo.fullName);
      if (!status) return void console.log(`${id}: no open run (idle). Published: see ${cfg.cacheDir}/current`);
      console.log(`${id}  ${temporalUiLink(cfg.temporal.uiUrl, cfg.temporal.namespace, id)}`);
      console.log(`  published: ${status.published ? `${status.published.sha} (${status.published.at})` : '-'}`);
      console.log(`  pending:   ${status.pending.length}${status.running ? `, running: ${status.running.step}` : ''}`);
      if (status.lastError) console.log(`  last error: ${status.lastError.message}`);
      for (const d of status.recentDeliveries) {
        console.log(`  ${d.receivedAt}  ${d.deliveryId}  ${d.sha?.slice(0, 12) ?? 'tip'}  ${d.outcome}${d.duplicates ? ` (+${d.duplicates} dup)` : ''}`);
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('demo')
  .description('life-cycle demo on the embedded default: sample repository, signed beacon, published snapshot')
  .option('--keep-running', 'keep the stack (and the Temporal UI) running until Ctrl-C')
  .action(async (opts: { keepRunning?: boolean }) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo({ keepRunning: !!opts.keepRunning });
  });

class UsageError extends Error {}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError) {
    console.error(`nblc: ${err.message}`);
    process.exitCode = 2;
  } else {
    console.error(`nblc: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
});
