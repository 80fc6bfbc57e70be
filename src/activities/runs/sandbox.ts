/**
 * The notebook sandbox's settings as executor arguments, and the check a worker runs before it
 * takes notebooks (python/nblc_sandbox_probe.py): with NBLC_SANDBOX=on (the default) a worker whose
 * host cannot sandbox kernels refuses to start, saying why and naming NBLC_SANDBOX=off.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, PROJECT_ROOT, type Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { executorEnv } from './executor-process.js';

const PROBE = path.join(PROJECT_ROOT, 'python', 'nblc_sandbox_probe.py');

export type SandboxSettings = Pick<
  Config,
  'sandbox' | 'dataDir' | 'cacheDir' | 'resultsDir' | 'usersDir' | 'tests' | 'env'
>;

/**
 * Paths hidden inside the sandbox should a bound folder contain them: the service's data and
 * every file named by a *_FILE or *_PATH setting (secrets, TLS keys, the prerun file). The
 * policy shows none of the service's folders anyway; this guards against odd layouts (e.g. a
 * secret kept below the Python environment or /etc).
 */
export function sandboxMasks(cfg: SandboxSettings): string[] {
  const files = Object.entries(cfg.env)
    .filter(([name, value]) => /^(NBLC|TEMPORAL)_\w*_(FILE|PATH)$/.test(name) && value)
    .map(([, value]) => path.resolve(value!));
  const paths = [cfg.dataDir, cfg.cacheDir, cfg.resultsDir, cfg.usersDir, cfg.tests.prerunFile, ...files];
  return [...new Set(paths.filter((p): p is string => !!p))];
}

/** The executor's sandbox arguments (python/nblc_execute.py). */
export function sandboxArgs(cfg: SandboxSettings): string[] {
  if (!cfg.sandbox.enabled) return ['--sandbox', 'off'];
  return [
    '--sandbox',
    'on',
    '--kernel-user',
    cfg.sandbox.kernelUser,
    '--memory',
    cfg.sandbox.notebookMemory,
    '--kernel-env',
    cfg.sandbox.kernelEnv.join(','),
    ...sandboxMasks(cfg).flatMap((p) => ['--mask', p]),
    ...(cfg.sandbox.cgroupRoot ? ['--cgroup-root', cfg.sandbox.cgroupRoot] : []),
    ...['--network', cfg.sandbox.network, '--network-allow', cfg.sandbox.networkAllow.join(',')],
    ...['--cpus', String(cfg.sandbox.notebookCpus), '--disk', cfg.sandbox.notebookDisk],
  ];
}

export interface ProbeResult {
  ok: boolean;
  error?: string;
  backend?: 'namespaces' | 'bubblewrap';
  uid?: number;
  limits?: string;
  cgroup?: string;
}

/** A configuration problem of the host: the CLI prints it as such (exit code 2), without a stack. */
export class SandboxUnavailableError extends ConfigError {
  constructor(readonly reason: string) {
    super([
      `NBLC_SANDBOX=on, but the notebook sandbox does not work on this host: ${reason}. ` +
        'Notebooks are untrusted code: fix the cause (docs/security.md, "Requirements"), or set NBLC_SANDBOX=off ' +
        "to run them unconfined as this service's user (every run is then marked unsandboxed).",
    ]);
    this.name = 'SandboxUnavailableError';
  }
}

/** Runs the probe: a tiny command through the real launcher and policy. */
export async function probeSandbox(cfg: SandboxSettings): Promise<ProbeResult> {
  const settings = JSON.stringify({
    kernelUser: cfg.sandbox.kernelUser,
    memory: cfg.sandbox.notebookMemory,
    kernelEnv: cfg.sandbox.kernelEnv,
    cgroupRoot: cfg.sandbox.cgroupRoot,
    network: cfg.sandbox.network,
    networkAllow: cfg.sandbox.networkAllow,
  });
  try {
    const { stdout } = await promisify(execFile)(cfg.tests.python, [PROBE, settings], {
      env: executorEnv(cfg.env, cfg.sandbox.kernelEnv),
      timeout: 120_000,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ProbeResult;
  } catch (err) {
    return { ok: false, error: `the probe (${cfg.tests.python} ${PROBE}) failed: ${(err as Error).message}` };
  }
}

/** Before the notebook worker starts: refuse (throws) when the sandbox is on but cannot work. */
export async function checkSandbox(cfg: SandboxSettings, logger: Logger): Promise<void> {
  if (!cfg.sandbox.enabled) {
    logger.warn(
      'NBLC_SANDBOX=off: notebooks run unsandboxed, as this service, with its files, processes and secrets in reach',
    );
    return;
  }
  const probe = await probeSandbox(cfg);
  if (!probe.ok) throw new SandboxUnavailableError(probe.error ?? 'unknown reason');
  if (cfg.sandbox.network === 'host') {
    logger.warn(
      "NBLC_KERNEL_NETWORK=host: kernels share the host's network (the service's ports, the private network, " +
        'metadata services); every result and report is marked not network-isolated',
    );
  }
  const level = probe.limits === 'rlimit' ? 'warn' : 'info';
  logger[level](
    { backend: probe.backend, kernelUid: probe.uid, limits: probe.limits, cgroup: probe.cgroup },
    probe.limits === 'rlimit'
      ? 'notebook sandbox ready; no cgroup with a memory controller: memory is limited per process, not per notebook'
      : 'notebook sandbox ready',
  );
}
