/** Running `nblc` as a real child process, the way operators and the container run it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, Env } from '../../src/platform/config.js';

export const NBLC_BIN = path.resolve(import.meta.dirname, '../../bin/nblc.js');

export interface NblcProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first stdout/stderr text matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The environment of an `nblc` child process that works as `config` does, on the Temporal server at
 * `address`: the same repository, task queues and data directory, no merge runs or schedule (as
 * testConfig); then `extra`.
 */
export function nblcEnv(address: string, config: Config, extra: Env = {}): Env {
  return {
    TEMPORAL_ADDRESS: address,
    NBLC_REPO_URL: config.repo.url,
    NBLC_REPO_FULL_NAME: config.repo.fullName,
    NBLC_TASK_QUEUE: config.taskQueue,
    NBLC_NOTEBOOK_TASK_QUEUE: config.tests.taskQueue,
    NBLC_DATA_DIR: config.dataDir,
    NBLC_TEST_ON_MERGE: 'false',
    NBLC_TEST_CRON: 'off',
    ...extra,
  };
}

/** Starts `nblc <args>` in its own process group (so a test can kill the whole group). */
export function startNblc(args: string[], env: Env): NblcProcess {
  const child = spawn(process.execPath, [NBLC_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NBLC_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re} in nblc output:\n${out}`));
        }, timeoutMs);
        void exited.then(({ code, signal }) => {
          if (!out.match(re)) {
            cleanup();
            reject(new Error(`nblc exited (${code ?? signal}) before printing ${re}:\n${out}`));
          }
        });
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** True while `pid` runs (a zombie awaiting its reaper counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Every live process below `pid` (children, their children, …), from the process table. */
export function descendants(pid: number): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,stat='], { encoding: 'utf8' }).stdout;
  const rows = ps
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length === 3 && !r[2]!.startsWith('Z'))
    .map(([p, pp]) => [Number(p), Number(pp)] as const);
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length;) {
    frontier = rows.filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    found.push(...frontier);
  }
  return found;
}

/** Runs `nblc <args>` to completion. */
export function runNblc(args: string[], env: Env, timeoutMs = 120_000) {
  const res = spawnSync(process.execPath, [NBLC_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NBLC_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** PIDs of live processes whose command line contains `needle` (zombies excluded). */
export function processesMatching(needle: string): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
    .filter(
      (m): m is RegExpMatchArray =>
        !!m && !m[2]!.startsWith('Z') && m[3]!.includes(needle) && !m[3]!.includes('ps -eo'),
    )
    .map((m) => Number(m[1]));
}

/** Runs `nblc <args>` to completion without blocking this process (in-process workers keep polling). */
export async function runNblcAsync(args: string[], env: Env, timeoutMs = 180_000) {
  const p = startNblc(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}
