/** `nblc copy`: a user's copy (provision, latest, update), or every user's (--all). */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../platform/config.js';
import {
  BULK_MODES,
  COPY_MODES,
  copyRequestProblem,
  mergedCellsText,
  type BulkMode,
  type BulkSummary,
  type CopyMode,
  type FileReport,
} from '../domain/copies/model.js';
import { CopyRequestError, bulkProgress, requestCopy, startBulk, type CopyAnswer } from '../clients/copies/client.js';
import { connectClient } from '../platform/temporal.js';
import { UsageError } from './errors.js';
import { failingNow } from '../storage/runs/public-status.js';

interface CopyOptions {
  mode: CopyMode;
  dir?: string;
  all?: boolean;
  json?: boolean;
  wait: boolean;
}

export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description(
      "a user's copy of the notebooks: provision notebooks/, a new dated copy (latest), or update one in place",
    )
    .argument('[user]', 'the user (a directory under NBLC_USERS_DIR)')
    .option('--mode <mode>', `what to do: ${COPY_MODES.join(', ')}`)
    .option('--dir <name>', 'latest: name of the new copy; update: the copy to update (default notebooks)')
    .option('--all', 'every user (provision or update), one child workflow per user')
    .option('--json', 'print the result as JSON')
    .option('--no-wait', 'with --all: start the bulk run and return')
    .addHelpText(
      'after',
      '\nExit status: 0 done, 1 the request failed (or a user failed, with --all), 2 a usage or configuration error.',
    )
    .action(async (user: string | undefined, opts: CopyOptions) => {
      if (!(COPY_MODES as readonly string[]).includes(opts.mode)) {
        throw new UsageError(`--mode takes ${COPY_MODES.join(', ')}${opts.mode ? ` (not ${opts.mode})` : ''}`);
      }
      if (!user === !opts.all) throw new UsageError('give a user, or --all (not both)');
      if (opts.all && !(BULK_MODES as readonly string[]).includes(opts.mode)) {
        throw new UsageError(`--all takes --mode ${BULK_MODES.join(' or ')}`);
      }
      if (user) {
        const problem = copyRequestProblem(user, opts);
        if (problem) throw new UsageError(problem);
      }
      const cfg = loadConfig();
      const client = await connectClient(cfg);
      try {
        if (user) await one(client, cfg, user, opts);
        else await all(client, cfg, opts.mode as BulkMode, opts);
      } finally {
        await client.connection.close();
      }
    });
}

type Client = Awaited<ReturnType<typeof connectClient>>;

async function one(client: Client, cfg: Config, user: string, opts: CopyOptions): Promise<void> {
  let result: CopyAnswer;
  try {
    result = await requestCopy(client, cfg, user, { mode: opts.mode, dir: opts.dir });
  } catch (err) {
    if (!(err instanceof CopyRequestError)) throw err;
    console.error(`nblc: ${opts.mode} for ${user} failed: ${err.message} [${err.type}]`);
    process.exitCode = 1;
    return;
  }
  // A new copy: its notebooks that fail upstream now (status.json), as the API's answer has them.
  const failing =
    opts.mode === 'latest'
      ? await failingNow(
          cfg.cacheDir,
          result.files.map((f) => f.path),
        )
      : [];
  if (opts.json) return void console.log(JSON.stringify({ ...result, failingUpstream: failing }, null, 2));
  console.log(`${result.message}\n  ${result.path}`);
  if (result.link) console.log(`  ${result.link.path} -> ${result.link.target} (${result.link.outcome})`);
  for (const f of result.files) if (f.outcome !== 'unchanged') console.log(`  ${describe(f)}`);
  const counts = Object.entries(result.counts).map(([o, n]) => `${n} ${o}`);
  if (counts.length) console.log(`${result.files.length} files: ${counts.join(', ')}`);
  console.log(`workflow ${result.workflowId}  ${result.temporalUiUrl}`);
  if (opts.mode === 'latest')
    printFailing(
      await failingNow(
        cfg.cacheDir,
        result.files.map((f) => f.path),
      ),
    );
}

/** The new copy's notebooks that fail upstream now (status.json of the last scheduled run). */
function printFailing(failing: string[]): void {
  if (failing.length === 0) return;
  console.log(`${failing.length} notebook(s) of this copy currently fail upstream (nblc is on it):`);
  for (const p of failing.slice(0, 50)) console.log(`  ${p}`);
  if (failing.length > 50) console.log(`  … and ${failing.length - 50} more`);
}

function describe(f: FileReport): string {
  const line = `${f.outcome.padEnd(22)} ${f.path}`;
  const more = (s: string) => `${line}\n${' '.repeat(25)}${s}`;
  if (f.outcome === 'conflict')
    return more(`your version kept; upstream's is ${f.upstreamCopy}${f.reason ? ` (${f.reason})` : ''}`);
  if (f.outcome === 'merged' && f.cells) return more(mergedCellsText(f.cells));
  return f.reason ? `${line}  (${f.reason})` : line;
}

async function all(client: Client, cfg: Config, mode: BulkMode, opts: CopyOptions): Promise<void> {
  const started = await startBulk(client, cfg, mode, opts.dir);
  if (!opts.json)
    console.log(`${mode} of every user's copy: workflow ${started.workflowId}\n  ${started.temporalUiUrl}`);
  if (!opts.wait) return;
  let last = '';
  const ticker = opts.json
    ? undefined
    : setInterval(() => {
        void bulkProgress(client, mode)
          .then((p) => {
            const line = p
              ? `  ${p.processed} done (${p.failed} failed), running: ${p.inFlight.join(', ') || '-'}`
              : '';
            if (line && line !== last) console.log((last = line));
          })
          .catch(() => undefined);
      }, 1000);
  let summary: BulkSummary;
  try {
    summary = await started.handle.result();
  } finally {
    clearInterval(ticker);
  }
  process.exitCode = summary.failed > 0 ? 1 : 0;
  if (opts.json) return void console.log(JSON.stringify(summary, null, 2));
  const extra = mode === 'provision' ? `${summary.created} created` : `${summary.withConflicts} with conflicts`;
  const skipped = summary.skipped ? `, ${summary.skipped} without that copy (skipped)` : '';
  console.log(`${summary.processed} users: ${summary.succeeded} ok (${extra}), ${summary.failed} failed${skipped}`);
  for (const f of summary.failures) console.log(`  failed  ${f.user}: ${f.error}`);
  if (summary.failuresDropped) console.log(`  … and ${summary.failuresDropped} more failures (see the workflow)`);
}
