/** Long-running commands: start, worker, api. */
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { applySchedule, SCHEDULE_ID } from '../clients/runs/client.js';
import { runUntilSignal, startStack } from '../process/stack.js';

async function serve(parts: { worker: boolean; api: boolean; embed: boolean }): Promise<void> {
  const cfg = loadConfig();
  const logger = createLogger(cfg.logLevel);
  const stack = await startStack(cfg, { ...parts, logger });
  const c = stack.config;
  const lines = [
    `nblc is running (${[parts.worker && 'worker', parts.api && 'API'].filter(Boolean).join(' + ')}).`,
    `  Temporal:   ${c.temporal.address}${stack.embedded ? ` (embedded, history in ${c.temporal.embedded.dbFile})` : ''}`,
    `  Temporal UI: ${c.temporal.uiUrl}/namespaces/${c.temporal.namespace}/workflows`,
  ];
  if (stack.api) lines.push(`  Webhook:    POST ${stack.api.url}/webhooks/github`);
  if (parts.worker) {
    lines.push(`  Cache:      ${c.cacheDir}/current`, `  Reports:    ${c.resultsDir}`);
    // The scheduled full run is part of a running service: keep it in line with the config.
    try {
      const outcome = await applySchedule(stack.client, c);
      lines.push(
        `  Schedule:   ${outcome === 'disabled' ? 'off (NBLC_TEST_CRON=off)' : `full test run "${c.tests.cron}" ${c.tests.timezone} (${SCHEDULE_ID}, ${outcome})`}`,
      );
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not apply the test schedule; run "nblc schedule apply"');
    }
  }
  lines.push('Stop with Ctrl-C.');
  console.log(lines.join('\n'));
  process.exitCode = await runUntilSignal(stack, logger);
}

export function registerServe(program: Command): void {
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
}
