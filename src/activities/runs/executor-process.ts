/**
 * How the notebook executor (python/nblc_execute.py) is started, one process per notebook:
 *
 * - `fork` (default): forked by python/nblc_forkserver.py, which has imported the executor,
 *   nbclient and ipykernel once per worker; the executor then forks its kernel from a template
 *   too. Still a new process and a fresh kernel per notebook, at about a third of the CPU.
 * - `spawn`: a new Python per notebook; the fallback when the fork server cannot start.
 *
 * Either way the executor leads its own process group, so cancelling signals the group.
 *
 * Both get an allow-listed environment ({@link executorEnv}), never the worker's own: a forked
 * kernel inherits the fork server's memory, and /proc/self/environ shows the environment the
 * server was started with, whatever the kernel's os.environ says. Settings go as arguments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../platform/config.js';

const EXECUTOR = path.join(PROJECT_ROOT, 'python', 'nblc_execute.py');
const FORK_SERVER = path.join(PROJECT_ROOT, 'python', 'nblc_forkserver.py');
const START_TIMEOUT_MS = 60_000;
/** After the fork server failed to start, spawn executors for this long before trying again. */
const RETRY_START_AFTER_MS = 60_000;

export interface ExecutorProcess {
  /** Progress lines the executor prints on stdout (JSON, one per line). */
  onLine(listener: (line: string) => void): void;
  /** Exit code (128+signal when killed); rejects when the process could not be started. */
  exited: Promise<number | null>;
  /** Signals the executor's process group (it forwards to its kernel). */
  kill(signal: NodeJS.Signals): void;
  /** The tail of what the executor wrote on stderr (read when needed: after a failure). */
  stderr(): Promise<string>;
  /** Removes what the process left behind (its stderr file); call once it has exited. */
  release(): Promise<void>;
}

const STDERR_TAIL = 8000;

/** What an executor (and so, filtered again, a kernel) may see of the worker's environment. */
const EXECUTOR_ENV = ['PATH', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'HOME', 'USER', 'LOGNAME', 'TMPDIR'];
const EXECUTOR_ENV_PREFIXES = ['LC_', 'JUPYTER_'];

/**
 * The environment of the fork server and of spawned executors: locale, paths, Jupyter's own
 * settings (kernelspec and data folders), and `kernelEnv` (NBLC_KERNEL_ENV), which the executor
 * passes on to kernels. No NBLC_* or TEMPORAL_* variable, hence no secret.
 */
export function executorEnv(env: NodeJS.ProcessEnv, kernelEnv: readonly string[] = []): NodeJS.ProcessEnv {
  const keep = (name: string) =>
    (EXECUTOR_ENV.includes(name) ||
      EXECUTOR_ENV_PREFIXES.some((p) => name.startsWith(p)) ||
      kernelEnv.includes(name)) &&
    !/^(NBLC_|TEMPORAL_)/.test(name);
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== undefined && keep(name)));
}

export function spawnExecutor(
  python: string,
  args: string[],
  env: NodeJS.ProcessEnv = executorEnv(process.env),
): ExecutorProcess {
  const child = spawn(python, [EXECUTOR, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
  const lines = createInterface({ input: child.stdout! });
  return {
    onLine: (listener) => void lines.on('line', listener),
    exited: new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    }),
    kill: (signal) => killGroup(child.pid, signal),
    stderr: async () => stderr,
    release: async () => undefined,
  };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** One fork server per worker process and interpreter, started on first use. */
class ForkServer {
  private socketPath: Promise<string> | null = null;
  private child: ChildProcess | null = null;
  private failedAt = 0;

  constructor(
    private readonly python: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly preload: string,
    private readonly learned: string,
  ) {}

  /** The server's pid while it runs (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's socket, or null while it cannot be started (the caller spawns instead). */
  async socket(): Promise<string | null> {
    if (Date.now() - this.failedAt < RETRY_START_AFTER_MS) return null;
    this.socketPath ??= this.start();
    try {
      return await this.socketPath;
    } catch (err) {
      this.failedAt = Date.now();
      this.socketPath = null;
      throw err;
    }
  }

  /** The server died or its socket is gone: the next call starts a new one. */
  reset(): void {
    this.child?.kill('SIGTERM');
    this.child = null;
    this.socketPath = null;
  }

  private start(): Promise<string> {
    const args = [FORK_SERVER, ...(this.preload ? ['--preload', this.preload] : [])];
    if (this.learned) args.push('--learned', this.learned);
    const child = spawn(this.python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('exit', () => {
      if (this.child === child) this.reset();
    });
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`the notebook fork server did not start (${why}): ${stderr.trim().slice(-2000)}`));
      };
      const timer = setTimeout(() => fail('no answer'), START_TIMEOUT_MS);
      timer.unref();
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code) => fail(`exit ${code}`));
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        // The worker must be able to exit while the server idles; its stdin closing stops it.
        child.unref();
        for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as net.Socket).unref();
        try {
          resolve((JSON.parse(line) as { socket: string }).socket);
        } catch {
          fail(`unexpected output: ${line}`);
        }
      });
    });
  }
}

const servers = new Map<string, ForkServer>();
/**
 * The fork server of this interpreter and environment (see {@link executorEnv}); `preload` is
 * NBLC_KERNEL_PRELOAD, for the kernel fork servers it starts (python/nblc_kernel_servers.py);
 * `learned`, a folder where they keep what they learned to preload from the notebooks, so that a
 * restarted worker's kernels start as warm as before (empty: kept in memory only).
 */
export function forkServerFor(
  python: string,
  env: NodeJS.ProcessEnv = executorEnv(process.env),
  preload = '',
  learned = '',
): ForkServer {
  const key = JSON.stringify([python, Object.entries(env).sort(), preload, learned]);
  return servers.get(key) ?? servers.set(key, new ForkServer(python, env, preload, learned)).get(key)!;
}

/**
 * Asks the fork server for an executor. Resolves once the request is sent; its stderr goes to
 * `stderrFile` (removed by release()).
 */
export async function forkExecutor(socketPath: string, args: string[], stderrFile: string): Promise<ExecutorProcess> {
  const conn = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => {
    conn.once('connect', resolve);
    conn.once('error', reject);
  });
  conn.write(JSON.stringify({ argv: args, stderr: stderrFile }) + '\n');
  let pid: number | undefined;
  const listeners: Array<(line: string) => void> = [];
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve, reject) => {
    conn.on('error', () => undefined); // reported as a close without an exit code
    conn.once('close', () =>
      code === undefined
        ? reject(new Error('the notebook fork server closed the connection (it died?)'))
        : resolve(code),
    );
  });
  createInterface({ input: conn }).on('line', (line) => {
    let event: { event?: string; pid?: number; code?: number | null; message?: string };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (event.event === 'spawned') pid = event.pid;
    else if (event.event === 'exit') code = event.code ?? null;
    else if (event.event === 'error') conn.destroy(new Error(`fork server: ${event.message}`));
    else for (const l of listeners) l(line);
  });
  return {
    onLine: (listener) => void listeners.push(listener),
    exited,
    kill: (signal) => {
      if (pid) killGroup(pid, signal);
      else conn.destroy(); // not forked yet: the server kills the child when we hang up
    },
    stderr: () => readTail(stderrFile, STDERR_TAIL),
    release: () => fs.rm(stderrFile, { force: true }),
  };
}

/** The last `bytes` of a file ('' if it is missing): the kernel's output can make it large. */
async function readTail(file: string, bytes: number): Promise<string> {
  const fh = await fs.open(file, 'r').catch(() => null);
  if (!fh) return '';
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(size, bytes));
    await fh.read(buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}
