/** `nblc temporal setup`: the namespace and nblc's search attributes on the Temporal service it uses. */
import { Option, type Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import { connectClient } from '../platform/temporal.js';
import { retentionSeconds, setupTemporal } from '../process/temporal-setup.js';
import { UsageError } from './errors.js';
import { seconds } from './options.js';

export function registerTemporal(program: Command): void {
  const temporal = program.command('temporal').description('the Temporal service nblc runs on');
  temporal
    .command('setup')
    .description(
      "make the namespace (TEMPORAL_NAMESPACE) exist and register nblc's search attributes in it; idempotent",
    )
    .addOption(
      new Option('--retention <duration>', 'retention of closed workflows if the namespace is created').default('720h'),
    )
    .addOption(
      new Option('--wait <seconds>', 'keep trying this long while the server starts')
        .default(60)
        .argParser(seconds('--wait', { min: 0, max: 86_400 })),
    )
    .addHelpText(
      'after',
      '\nUses the same TEMPORAL_* settings as the worker (address, namespace, TLS, API key).\n' +
        'Exit status: 0 done, 1 Temporal failed or is unreachable, 2 something an operator must do (printed).',
    )
    .action(async (opts: { retention: string; wait: number }) => {
      retentionSeconds(opts.retention); // validated before connecting
      // The setup touches no repository: the two settings every other command needs are not asked for.
      const cfg = loadConfig({ NBLC_REPO_URL: 'unused', NBLC_REPO_FULL_NAME: 'unused/unused', ...process.env });
      if (!cfg.temporal.address)
        throw new UsageError(
          'TEMPORAL_ADDRESS is not set: the embedded server of `nblc start` sets itself up; point TEMPORAL_ADDRESS at the cluster to set up',
        );
      const client = await connectClient(cfg);
      try {
        console.log(`Temporal at ${cfg.temporal.address}, namespace ${cfg.temporal.namespace}:`);
        await setupTemporal(client.connection, {
          namespace: cfg.temporal.namespace,
          retention: opts.retention,
          waitMs: opts.wait * 1000,
          log: (line) => console.log(`  ${line}`),
        });
        console.log('ready for nblc');
      } finally {
        await client.connection.close();
      }
    });
}
