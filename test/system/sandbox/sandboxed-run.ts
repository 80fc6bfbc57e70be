/** The sandbox tests' executor arguments: one notebook, as the activity gives them, in a sandbox. */
import path from 'node:path';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import type { Config } from '../../../src/platform/config.js';

/** `notebook` of the snapshot at `root`, its outputs in `runDir`, sandboxed as `config` says. */
export function sandboxedArgs(
  config: Config,
  o: { notebook: string; root: string; runDir: string; cellTimeoutS: number },
): string[] {
  return [
    ...['--notebook', o.notebook, '--root', o.root, '--output', path.join(o.runDir, 'executed.ipynb')],
    ...['--result', path.join(o.runDir, 'result.json'), '--scratch-root', path.join(o.runDir, 'tmp')],
    ...['--cell-timeout', String(o.cellTimeoutS)],
    ...sandboxArgs(config),
  ];
}
