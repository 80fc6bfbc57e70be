/** Operator commands on the sync workflow: pull now, status. */
import { Option, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { loadConfig } from '../platform/config.js';
import { temporalUiLink } from '../domain/ui-links.js';
import { syncWorkflowId, type Beacon } from '../domain/sync/model.js';
import { querySync, signalSync } from '../clients/sync/client.js';
import { connectClient } from '../platform/temporal.js';
import { UsageError } from './errors.js';
import { seconds } from './options.js';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('pull now: ask the sync workflow to publish the branch tip (or --sha), like a merge beacon')
    .option('--sha <sha>', 'publish this commit of the branch instead of the tip')
    .option('--wait', 'wait until the sync finished and exit 1 if it failed')
    .addOption(
      new Option('--timeout <seconds>', 'with --wait: give up after this long')
        .default(300)
        .argParser(seconds('--timeout', { min: 1, max: 86_400 })),
    )
    .action(async (opts: { sha?: string; wait?: boolean; timeout: number }) => {
      const cfg = loadConfig();
      if (opts.sha && !/^[0-9a-f]{7,40}$/.test(opts.sha))
        throw new UsageError('--sha takes a commit SHA (7 to 40 hex digits)');
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
            console.log(
              `${record.outcome}: published ${status?.published?.sha ?? '(nothing)'}${record.error ? `\n  ${record.error}` : ''}`,
            );
            process.exitCode = record.outcome === 'failed' ? 1 : 0;
            return;
          }
          if (Date.now() > deadline) {
            throw new UsageError(
              `no result after ${opts.timeout}s: is a worker ("nblc start" or "nblc worker") polling task queue ${cfg.taskQueue}?`,
            );
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('status')
    .description("show what is published, pending and failing (the sync workflow's status query)")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const cfg = loadConfig();
      const client = await connectClient(cfg);
      try {
        const status = await querySync(client, cfg);
        if (opts.json) return void console.log(JSON.stringify(status, null, 2));
        const id = syncWorkflowId(cfg.repo.fullName);
        if (!status) return void console.log(`${id}: no open run (idle). Published: see ${cfg.cacheDir}/current`);
        console.log(`${id}  ${temporalUiLink(cfg.temporal.uiUrl, cfg.temporal.namespace, id)}`);
        console.log(`  published: ${status.published ? `${status.published.sha} (${status.published.at})` : '-'}`);
        console.log(
          `  pending:   ${status.pending.length}${status.running ? `, running: ${status.running.step}` : ''}`,
        );
        if (status.lastError) console.log(`  last error: ${status.lastError.message}`);
        for (const d of status.recentDeliveries) {
          console.log(
            `  ${d.receivedAt}  ${d.deliveryId}  ${d.sha?.slice(0, 12) ?? 'tip'}  ${d.outcome}${d.duplicates ? ` (+${d.duplicates} dup)` : ''}`,
          );
        }
      } finally {
        await client.connection.close();
      }
    });
}
