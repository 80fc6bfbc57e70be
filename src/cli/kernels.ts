/**
 * `nblc kernels`: the kernelspecs the workers have, from the kernel registry in nblc's database
 * (the same answer as `GET /kernels`); run it with the service's configuration. `--refresh` first
 * records this host's own kernelspecs, as a worker does when it starts.
 */
import type { Command } from 'commander';
import { recordWorkerKernels } from '../activities/runs/kernels.js';
import type { KnownKernel } from '../domain/runs/kernels.js';
import { loadConfig } from '../platform/config.js';
import { closeHistoryStores } from '../storage/runs/history-store.js';
import { openKernelStore } from '../storage/runs/kernel-store.js';

export function registerKernels(program: Command): void {
  program
    .command('kernels')
    .description('the kernelspecs each worker has, with the environment last measured in each (NBLC_DATABASE_URL)')
    .option('--json', 'print the registry as JSON (packages included)')
    .option('--refresh', "record this host's kernelspecs first (NBLC_WORKER_NAME), as a worker does on start")
    .action(async (opts: { json?: boolean; refresh?: boolean }) => {
      const config = loadConfig();
      try {
        if (opts.refresh) {
          const r = await recordWorkerKernels(config);
          if ('error' in r) throw new Error(`the kernelspecs of this host were not recorded: ${r.error}`);
        }
        const kernels = await (await openKernelStore(config)).kernels();
        console.log(opts.json ? JSON.stringify({ kernels }, null, 2) : kernelsText(kernels));
      } finally {
        await closeHistoryStores();
      }
    });
}

/** One block per kernelspec: what it is, where, and what was last measured in it. */
export function kernelsText(kernels: readonly KnownKernel[]): string {
  if (!kernels.length) return 'no kernelspecs recorded yet: a worker records its own when it starts';
  return kernels
    .map((k) => {
      const env = k.environment;
      const measured = env
        ? env.fingerprint
          ? `Python ${env.python ?? '?'}, ${Object.keys(env.packages).length} packages, fingerprint ${env.fingerprint.slice(0, 16)}, measured ${env.measuredAt} on ${env.worker}`
          : `not measured (${env.error ?? 'unknown'}) at ${env.measuredAt} on ${env.worker}`
        : 'not measured yet (a run that uses it measures it)';
      return [
        `${k.name}  "${k.displayName}" (${k.language})`,
        `  workers: ${k.workers.map((w) => w.worker).join(', ')}${k.differs ? '  (their environments differ)' : ''}`,
        `  ${measured}`,
      ].join('\n');
    })
    .join('\n');
}
