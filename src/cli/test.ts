/** `nblc test` (a manual run, optionally followed live) and `nblc schedule` (the nightly run). */
import type { Client } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import {
  applySchedule,
  getRun,
  latestCompletedRun,
  SCHEDULE_ID,
  startTestRun,
  type StartedRun,
} from '../clients/runs/client.js';
import { summaryText } from '../domain/runs/summary.js';
import { connectClient } from '../platform/temporal.js';
import { isFailing, RUN_LIMITS, runOptionsProblems, type TestRunOptions } from '../domain/runs/model.js';
import { parseParameter } from '../domain/runs/contract.js';
import { UsageError } from './errors.js';
import { seconds, wholeNumber } from './options.js';

const collect = (value: string, previous: string[]) => [...previous, value];

async function withClient<T>(fn: (client: Client, cfg: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  const client = await connectClient(cfg);
  try {
    return await fn(client, cfg);
  } finally {
    await client.connection.close();
  }
}

/** A numeric run option, parsed within its RUN_LIMITS (`<seconds>` options take fractions). */
function runNumber(
  flags: string,
  help: string,
  limit: 'concurrency' | 'retries' | 'cellTimeoutS' | 'notebookTimeoutS',
): Option {
  const flag = flags.split(' ')[0]!;
  const parse = flags.endsWith('<seconds>') ? seconds : wholeNumber;
  return new Option(flags, help).argParser(parse(flag, RUN_LIMITS[limit]));
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('execute the notebooks of the published snapshot (a manual test run)')
    .option('--include <glob>', 'only notebooks matching this glob (repeatable)', collect, [])
    .option('--exclude <glob>', 'skip notebooks matching this glob (repeatable)', collect, [])
    .addOption(runNumber('--concurrency <n>', 'notebooks at a time (default NBLC_TEST_CONCURRENCY)', 'concurrency'))
    .addOption(runNumber('--retries <n>', 're-run a notebook that did not pass up to n times', 'retries'))
    .addOption(runNumber('--cell-timeout <seconds>', 'per cell (default NBLC_CELL_TIMEOUT)', 'cellTimeoutS'))
    .addOption(
      runNumber('--notebook-timeout <seconds>', 'per notebook (default NBLC_NOTEBOOK_TIMEOUT)', 'notebookTimeoutS'),
    )
    .option('--commit <sha>', 'test this published snapshot instead of the current one')
    .option(
      '--failed [kind]',
      'only the notebooks that did not pass in the latest completed run of this kind (default: scheduled)',
    )
    .option(
      '--parameter <NAME=VALUE>',
      "a value for the notebooks' cell tagged `parameters` (repeatable; papermill's convention)",
      collect,
      [],
    )
    .option('--wait', 'show live progress and a summary; exit 1 if any notebook did not pass')
    .action(
      async (opts: {
        include: string[];
        exclude: string[];
        concurrency?: number;
        retries?: number;
        cellTimeout?: number;
        notebookTimeout?: number;
        commit?: string;
        parameter: string[];
        failed?: string | boolean;
        wait?: boolean;
      }) => {
        if (opts.commit && !/^[0-9a-f]{40}$/.test(opts.commit))
          throw new UsageError('--commit takes a full 40-hex commit SHA');
        const options: TestRunOptions = {
          include: opts.include.length ? opts.include : undefined,
          exclude: opts.exclude.length ? opts.exclude : undefined,
          concurrency: opts.concurrency,
          retries: opts.retries,
          cellTimeoutS: opts.cellTimeout,
          notebookTimeoutS: opts.notebookTimeout,
        };
        // The numbers were checked as they were parsed; the glob lists are checked here, whole.
        const problems = runOptionsProblems(options);
        const parameters: Record<string, string> = {};
        for (const text of opts.parameter) {
          const p = parseParameter(text);
          if ('error' in p) problems.push(p.error);
          else parameters[p.name] = p.value;
        }
        if (problems.length) throw new UsageError(problems.join('; '));
        await withClient(async (client, cfg) => {
          const again = opts.failed
            ? await notPassed(client, cfg, opts.failed === true ? 'scheduled' : opts.failed)
            : null;
          if (again && again.paths.length === 0) {
            console.log(`every notebook of ${again.runId} passed: nothing to re-run`);
            return;
          }
          if (again) console.log(`re-running ${again.paths.length} notebook(s) that did not pass in ${again.runId}`);
          const started = await startTestRun(client, cfg, {
            kind: 'manual',
            ...options,
            ...(again ? { paths: again.paths } : {}),
            commit: opts.commit,
            ...(opts.parameter.length ? { parameters } : {}),
          });
          console.log(`test run ${started.runId}\n  ${started.temporalUiUrl}`);
          if (opts.wait) process.exitCode = await follow(client, started, !!process.stdout.isTTY);
        });
      },
    );

  const schedule = program
    .command('schedule')
    .description(`the scheduled full test run (schedule "${SCHEDULE_ID}", NBLC_TEST_CRON)`);
  schedule
    .command('apply')
    .description('create the schedule, or update it to the current config (idempotent)')
    .action(() =>
      withClient(async (client, cfg) => {
        const outcome = await applySchedule(client, cfg);
        console.log(
          outcome === 'disabled'
            ? 'NBLC_TEST_CRON is off: no schedule applied'
            : `schedule ${SCHEDULE_ID} ${outcome}: "${cfg.tests.cron}" (${cfg.tests.timezone})`,
        );
      }),
    );
  schedule
    .command('show')
    .description('print the schedule: spec, state, recent and next runs')
    .action(() =>
      withClient(async (client) => {
        const d = await client.schedule.getHandle(SCHEDULE_ID).describe();
        console.log(
          `${SCHEDULE_ID}: ${d.state.paused ? 'paused' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
        );
        console.log(`  spec: ${JSON.stringify(d.spec)}`);
        console.log(
          `  next: ${d.info.nextActionTimes
            .slice(0, 3)
            .map((t) => t.toISOString())
            .join(', ')}`,
        );
        for (const a of d.info.recentActions.slice(-5))
          console.log(`  ran:  ${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`);
      }),
    );
  for (const [name, description] of [
    ['pause', 'stop starting runs'],
    ['unpause', 'resume starting runs'],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .option('--note <text>', 'why (shown in the Temporal UI)')
      .action((o: { note?: string }) =>
        withClient(async (client) => {
          const handle = client.schedule.getHandle(SCHEDULE_ID);
          await (name === 'pause' ? handle.pause(o.note) : handle.unpause(o.note));
          console.log(`${SCHEDULE_ID} ${name}d`);
        }),
      );
  }
  schedule
    .command('trigger')
    .description('start a scheduled run now')
    .action(() =>
      withClient(async (client) => {
        await client.schedule.getHandle(SCHEDULE_ID).trigger();
        console.log(`${SCHEDULE_ID} triggered; "nblc runs" lists it`);
      }),
    );
}

/** The notebooks that did not pass in the latest completed run of `kind` (`--failed`). */
async function notPassed(
  client: Client,
  cfg: { taskQueue: string },
  kind: string,
): Promise<{ runId: string; paths: string[] }> {
  const latest = await latestCompletedRun(client, cfg, kind).catch((err: Error) => {
    throw new UsageError(`--failed: ${err.message}`);
  });
  if (!latest) throw new UsageError(`--failed: no ${kind} run has completed yet; start one, or name another kind`);
  return { runId: latest.runId, paths: latest.notebooks.filter((n) => isFailing(n.status)).map((n) => n.path) };
}

/** Live progress (a bar on a terminal, plain lines otherwise), then the summary; the exit code. */
async function follow(client: Client, started: StartedRun, tty: boolean): Promise<number> {
  let lastLine = '';
  for (;;) {
    const state = await getRun(client, started.runId);
    if (state?.progress) {
      const p = state.progress;
      const width = 30;
      const filled = p.total ? Math.round((p.done / p.total) * width) : 0;
      const line = tty
        ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${p.failed ? `${p.failed} not passed ` : ''}${p.running.slice(0, 2).join(', ')}`
        : `${p.phase}: ${p.done}/${p.total} done, ${p.failed} not passed`;
      if (tty) process.stdout.write(`\r${line.slice(0, (process.stdout.columns || 100) - 1).padEnd(lastLine.length)}`);
      else if (line !== lastLine) console.log(line);
      lastLine = line;
    } else if (state?.result) {
      if (tty) process.stdout.write('\n');
      console.log(summaryText(state.result));
      return state.result.counts.passed === state.result.counts.total ? 0 : 1;
    } else if (state && state.status !== 'RUNNING') {
      if (tty) process.stdout.write('\n');
      console.error(`run ${started.runId} ${state.status.toLowerCase()}: ${state.error ?? ''}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
