/**
 * Kernels as nblc knows them: which kernelspec a notebook runs with (its own, or a candidate
 * run's choice), the kernels a run uses (each probed once per run), and the kernelspecs the
 * workers have (the registry `GET /kernels` and `nblc kernels` show). Pure.
 */

/** Jupyter's kernelspec names (jupyter_client: letters, digits, `.`, `_`, `-`), bounded. */
export const KERNEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A run's kernels probed at most; beyond, notebooks run but their kernels are not measured. */
export const MAX_RUN_KERNELS = 20;

export const isKernelName = (v: unknown): v is string => typeof v === 'string' && KERNEL_NAME_RE.test(v);

/** A candidate run's choice: `kernel` for every notebook, `kernelMap` FROM → TO before it. */
export interface KernelChoice {
  kernel?: string;
  kernelMap?: Record<string, string>;
}

/**
 * The kernelspec a notebook runs with: the map's entry for the one it asks for, else the run's
 * kernel, else its own (python/nblc_execute.py `kernel_for` applies the same rule).
 * `asked`: the notebook's kernelspec name, or the default kernel when it names none.
 */
export function kernelFor(asked: string, choice: KernelChoice = {}): string {
  const mapped = choice.kernelMap?.[asked];
  if (mapped) return mapped;
  return choice.kernel || asked;
}

/** The choice with only valid names kept (a workflow's input is a stranger's). */
export function checkedChoice(raw: unknown): KernelChoice {
  if (typeof raw !== 'object' || raw === null) return {};
  const { kernel, kernelMap } = raw as Record<string, unknown>;
  const map: Record<string, string> = {};
  if (typeof kernelMap === 'object' && kernelMap !== null) {
    for (const [from, to] of Object.entries(kernelMap).slice(0, MAX_RUN_KERNELS))
      if (isKernelName(from) && isKernelName(to)) map[from] = to;
  }
  return {
    ...(isKernelName(kernel) ? { kernel } : {}),
    ...(Object.keys(map).length ? { kernelMap: map } : {}),
  };
}

/** `FROM=TO` (the CLI's --kernel-map) or the reason it is not one. */
export function parseKernelMapping(text: string): { from: string; to: string } | { error: string } {
  const [from, to, ...rest] = text.split('=');
  if (rest.length || !isKernelName(from) || !isKernelName(to)) {
    return { error: `--kernel-map ${JSON.stringify(text)}: give FROM=TO, two kernelspec names` };
  }
  return { from, to };
}

/**
 * The kernels of a run, from how many notebooks use each: most used first (the run's primary
 * kernel, whose environment is the report's `environment`), the default kernel first among
 * equals, then by name; at most MAX_RUN_KERNELS.
 */
export function runKernels(uses: ReadonlyMap<string, number>, defaultKernel: string): string[] {
  return [...uses]
    .sort(([a, n], [b, m]) => m - n || Number(b === defaultKernel) - Number(a === defaultKernel) || (a < b ? -1 : 1))
    .map(([name]) => name)
    .slice(0, MAX_RUN_KERNELS);
}

/** One kernelspec on one worker, as the registry records it (storage/runs/kernel-store.ts). */
export interface WorkerKernel {
  worker: string;
  name: string;
  displayName: string;
  language: string;
  /** When the worker last listed its kernelspecs and found this one. */
  seenAt: string;
  /** The last probe of this kernel on this worker (a run's, or none yet). */
  python: string | null;
  fingerprint: string | null;
  packages: Record<string, string>;
  measuredAt: string | null;
  error?: string;
}

/** A kernelspec across the workers that have it: what `GET /kernels` answers. */
export interface KnownKernel {
  name: string;
  displayName: string;
  language: string;
  workers: Array<{ worker: string; seenAt: string; fingerprint: string | null; measuredAt: string | null }>;
  /** The newest measurement on any worker (its packages), or none yet. */
  environment: {
    worker: string;
    python: string | null;
    fingerprint: string | null;
    packages: Record<string, string>;
    measuredAt: string;
    error?: string;
  } | null;
  /** The workers measured different environments under this name. */
  differs: boolean;
}

/** The registry's rows, one entry per kernelspec name, in name order. */
export function knownKernels(rows: readonly WorkerKernel[]): KnownKernel[] {
  const byName = new Map<string, WorkerKernel[]>();
  for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName.keys()].sort().map((name) => {
    const own = byName.get(name)!.sort((a, b) => (a.worker < b.worker ? -1 : 1));
    const measured = own
      .filter((r) => r.measuredAt !== null)
      .sort((a, b) => Date.parse(b.measuredAt!) - Date.parse(a.measuredAt!));
    const newest = measured[0];
    const newestSeen = [...own].sort((a, b) => Date.parse(b.seenAt) - Date.parse(a.seenAt))[0]!;
    const prints = new Set(measured.map((r) => r.fingerprint).filter((f) => f !== null));
    return {
      name,
      displayName: newestSeen.displayName,
      language: newestSeen.language,
      workers: own.map((r) => ({
        worker: r.worker,
        seenAt: r.seenAt,
        fingerprint: r.fingerprint,
        measuredAt: r.measuredAt,
      })),
      environment: newest
        ? {
            worker: newest.worker,
            python: newest.python,
            fingerprint: newest.fingerprint,
            packages: newest.packages,
            measuredAt: newest.measuredAt!,
            ...(newest.error ? { error: newest.error } : {}),
          }
        : null,
      differs: prints.size > 1,
    };
  });
}
