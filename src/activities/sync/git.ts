/**
 * simple-git, set up the way every nblc activity needs it: killed on activity cancellation,
 * credentials passed through the environment (never argv, never a URL that could be logged),
 * hooks disabled, and errors scrubbed of credentials before they reach a workflow history.
 */
import { ApplicationFailure } from '@temporalio/common';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { simpleGit, type SimpleGit, type SimpleGitProgressEvent } from 'simple-git';
import { redact, type Secret } from '../../platform/secret.js';
import { SYNC_FAILURES } from '../../domain/sync/model.js';

export interface GitOptions {
  baseDir: string;
  signal?: AbortSignal;
  token?: Secret;
  /** Extra environment, e.g. GIT_INDEX_FILE. */
  env?: Record<string, string>;
  onProgress?: (event: SimpleGitProgressEvent) => void;
}

/** `-c` settings on every call: no hooks can run, no interactive prompts. */
const SAFE_CONFIG = ['core.hooksPath=/dev/null', 'credential.interactive=false'];

/**
 * Marks the processes of one git() instance. simple-git's abort kills only the git it spawned;
 * helpers such as `git remote-https` (or ssh) would survive it, holding the connection until
 * the network gives up. They inherit the marker, so a cancellation finds and ends them too.
 */
const RUN_MARKER = 'NBLC_GIT_RUN';

async function killMarked(marker: string): Promise<void> {
  const needle = `${RUN_MARKER}=${marker}`;
  const pids = await readdir('/proc').catch(() => [] as string[]); // Linux; elsewhere a no-op
  await Promise.all(
    pids
      .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
      .map(async (p) => {
        const environ = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
        if (!environ.split('\0').includes(needle)) return;
        try {
          process.kill(Number(p), 'SIGTERM');
        } catch {
          // already gone
        }
      }),
  );
}

/** The environment every git process of nblc gets (see git()). */
function gitEnv(opts: GitOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    // The worker user's ~/.gitconfig or /etc/gitconfig (autocrlf, filters) must not change the
    // bytes we publish.
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    ...opts.env,
  };
  if (opts.signal) {
    const marker = randomBytes(8).toString('hex');
    env[RUN_MARKER] = marker;
    opts.signal.addEventListener('abort', () => void killMarked(marker), { once: true });
  }
  if (opts.token) {
    // GIT_CONFIG_* keeps the header out of the process list; the value stays in memory only.
    const basic = Buffer.from(`x-access-token:${opts.token.reveal()}`).toString('base64');
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  return env;
}

export function git(opts: GitOptions): SimpleGit {
  const env = gitEnv(opts);
  const g = simpleGit({
    baseDir: opts.baseDir,
    abort: opts.signal,
    config: SAFE_CONFIG,
    progress: opts.onProgress,
    allowEnvironment: Object.keys(env),
    // simple-git guards against callers *setting* a hooks path; ours points it at /dev/null so
    // that no hook (e.g. reference-transaction on fetch) can ever run.
    // GIT_CONFIG_COUNT is how the token's header is passed; only allowed when we set it.
    // Config paths: we only ever point GIT_CONFIG_GLOBAL at /dev/null.
    unsafe: { allowUnsafeHooksPath: true, allowUnsafeConfigPaths: true, allowUnsafeConfigEnvCount: !!opts.token },
  });
  return g.env(env);
}

/** Classifies git's stderr into what an operator should do, and scrubs credentials. */
export function gitFailure(err: unknown, what: string, secrets: Array<Secret | undefined> = []): Error {
  const raw = err instanceof Error ? err.message : String(err);
  const msg = redact(raw, secrets).trim();
  if (/abort signal|Abort already signaled/i.test(raw)) return err as Error;
  const nonRetryable: Array<[RegExp, string, string]> = [
    [
      /Authentication failed|could not read Username|terminal prompts disabled|HTTP 40[13]/i,
      SYNC_FAILURES.gitAuth,
      'the repository rejected our credentials: check NBLC_GIT_TOKEN / NBLC_GIT_TOKEN_FILE',
    ],
    [
      /Repository not found|does not appear to be a git repository|not found/i,
      SYNC_FAILURES.repositoryNotFound,
      'the repository was not found: check NBLC_REPO_URL',
    ],
    [
      /couldn't find remote ref/i,
      SYNC_FAILURES.branchNotFound,
      'the branch does not exist upstream: check NBLC_BRANCH',
    ],
  ];
  for (const [re, type, hint] of nonRetryable) {
    if (re.test(raw)) return ApplicationFailure.nonRetryable(`${what} failed: ${hint}. git said: ${msg}`, type);
  }
  return ApplicationFailure.retryable(`${what} failed: ${msg}`, SYNC_FAILURES.git);
}

/**
 * Runs git with the same environment and settings as git(), returning its stdout as bytes.
 * For commands that print nothing (read-tree, checkout-index): simple-git waits 50 ms after such
 * a process ends before it answers (its completion plugin, whatever the options), which was most
 * of a small publish. And for names as bytes:
 * simple-git decodes output as UTF-8, which would garble file names that are not (`-z` output
 * of diff-tree names files byte for byte). `input` is written to its stdin.
 */
export function gitBytes(opts: GitOptions, args: string[], input?: Buffer): Promise<Buffer> {
  const config = SAFE_CONFIG.flatMap((c) => ['-c', c]);
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...config, ...args], {
      cwd: opts.baseDir,
      env: gitEnv(opts),
      signal: opts.signal,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args[0]} exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`));
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all of it: its exit code tells
    child.stdin.end(input);
  });
}
