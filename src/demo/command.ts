/** `nblc demo`: the whole life cycle on the embedded default (the README's quick start). */
import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('life-cycle demo on the embedded default: sample repository, signed beacon, published snapshot')
    .option('--keep-running', 'keep the stack (and the Temporal UI) running until Ctrl-C')
    .action(async (opts: { keepRunning?: boolean }) => {
      // Loaded on demand: the demo pulls in simple-git and the sample repository.
      const { runDemo } = await import('./demo.js');
      process.exitCode = await runDemo({ keepRunning: !!opts.keepRunning });
    });
}
