/**
 * Runs an update job (update-job.ts) with the credentials of the copy's owner.
 *
 * As root, nblc writes into directories users control. Checking a folder and then writing into
 * it are two system calls, and a user can swap the folder for a symlink in between: root would
 * then write wherever the link leads (another user's copy, /etc). Node has no openat(2) to pin
 * a checked folder. So when the worker runs as root and the user's directory belongs to someone
 * else, the job runs in a child process with that owner's uid and gid (libuv also drops root's
 * supplementary groups): whatever a link leads to, the kernel lets the job write only where the
 * user could write anyway. The checks stay, for the per-file report.
 *
 * The child is the user's process: they may ptrace it (it is dumpable after exec) or kill it. So
 * it gets nothing secret (no environment of the worker's; the job, public data, on stdin), and
 * what it says is read like any input from the user: bounded in size, validated, and only ever
 * the answer to their own request. Closing its stdin tells it the worker is gone.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import { COPY_FAILURES, NON_RETRYABLE_COPY_FAILURES } from '../../domain/copies/model.js';
import { childProgram } from './child-program.js';
import { fail, type Owner } from './fs.js';
import { fileReportSchema } from './manifest.js';
import { runUpdateJob, type UpdateHooks, type UpdateJob, type UpdateOutcome } from './update-job.js';

/** The child's stdout is the user's to fill: beyond this, it is killed (a report of 100k files is ~10 MB). */
const MAX_OUTPUT = 64 * 1024 * 1024;
const STDERR_TAIL = 4096;

/** Whether work for `owner` must run as them: only root can switch, and root's own files need not. */
export const needsOwnProcess = (owner: Owner | null): owner is Owner => owner !== null && owner.uid !== 0;

/** Runs the job in-process, or as the owner when `needsOwnProcess(owner)`. */
export function runUpdate(job: UpdateJob, owner: Owner | null, hooks: UpdateHooks): Promise<UpdateOutcome> {
  return needsOwnProcess(owner) ? runAsOwner(job, owner, hooks) : runUpdateJob(job, owner, hooks);
}

const childMessage = z.union([
  z.object({ t: z.literal('progress'), p: z.record(z.string(), z.unknown()) }),
  z.object({ t: z.literal('checkpoint'), step: z.string() }),
  z.object({
    t: z.literal('result'),
    r: z.object({
      again: z.boolean(),
      commit: z.string(),
      previousCommit: z.string().nullable(),
      files: z.array(fileReportSchema),
    }),
  }),
  z.object({
    t: z.literal('error'),
    message: z.string(),
    type: z.string().optional(),
    code: z.string().optional(),
    syscall: z.string().optional(),
    path: z.string().optional(),
  }),
]);
type ErrorMessage = Extract<z.infer<typeof childMessage>, { t: 'error' }>;

function childError(e: ErrorMessage, owner: Owner): Error {
  if (e.type && NON_RETRYABLE_COPY_FAILURES.includes(e.type)) return fail(e.type, e.message);
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    // A folder of the copy swapped for a link to elsewhere, or a file of the cache users cannot read.
    return fail(
      COPY_FAILURES.permission,
      `${e.syscall ?? 'access'} ${e.path ?? ''}: permission denied for the copy's owner (uid ${owner.uid})`,
    );
  }
  return Object.assign(new Error(e.message), e.code ? { code: e.code, syscall: e.syscall, path: e.path } : {});
}

async function runAsOwner(job: UpdateJob, owner: Owner, hooks: UpdateHooks): Promise<UpdateOutcome> {
  const program = await childProgram();
  const child = spawn(process.execPath, program.args, {
    uid: owner.uid,
    gid: owner.gid,
    cwd: '/',
    env: program.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  hooks.signal?.addEventListener('abort', kill);
  if (hooks.signal?.aborted) kill();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-STDERR_TAIL)));
  child.stdin.on('error', () => undefined); // a child that died early: its exit says why
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  exited.catch(() => undefined); // awaited below, unless the answer went wrong first
  child.stdin.write(`${JSON.stringify({ ...job, checkpoints: !!hooks.checkpoint })}\n`);

  let answer: UpdateOutcome | Error | null = null;
  let size = 0;
  let pending = '';
  const invalid = () => new Error(`the update of ${job.name} as uid ${owner.uid} gave an invalid answer`);
  try {
    for await (const chunk of child.stdout.setEncoding('utf8')) {
      size += (chunk as string).length;
      if (size > MAX_OUTPUT) throw new Error(`the update of ${job.name} as uid ${owner.uid} said too much`);
      pending += chunk as string;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          throw invalid();
        }
        const parsed = childMessage.safeParse(json);
        if (!parsed.success) throw invalid();
        const m = parsed.data;
        if (m.t === 'progress') hooks.onProgress?.(m.p);
        else if (m.t === 'checkpoint') {
          await hooks.checkpoint?.(m.step);
          child.stdin.write('{"resume":true}\n');
        } else if (m.t === 'result') answer = m.r as UpdateOutcome;
        else answer = childError(m, owner);
      }
    }
    const { code, signal } = await exited;
    if (hooks.signal?.aborted) throw hooks.signal.reason ?? new Error('cancelled');
    if (answer instanceof Error) throw answer;
    if (answer && code === 0) return answer;
    throw new Error(
      `the update of ${job.name} as uid ${owner.uid} ended (${signal ?? `exit code ${code}`}) without an answer` +
        (stderr.trim() ? `: ${stderr.trim()}` : ''),
    );
  } finally {
    hooks.signal?.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null) kill();
    child.stdin.end();
  }
}
