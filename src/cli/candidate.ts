/**
 * `nblc test --kernel NAME [--kernel-map FROM=TO]… --compare-with RUN|latest-scheduled`: the
 * options of a candidate run (issue 19), checked together; problems are added to `problems`.
 */
import { isKernelName, parseKernelMapping, type KernelChoice } from '../domain/runs/kernels.js';
import { isRunDirName } from '../domain/runs/run-dir.js';

export function candidateOptions(
  opts: { kernel?: string; kernelMap: string[]; compareWith?: string; allowNewFailures?: number },
  problems: string[],
): (KernelChoice & { compareWith: string }) | undefined {
  const candidate = opts.kernel !== undefined || opts.compareWith !== undefined || opts.kernelMap.length > 0;
  if (!candidate) {
    if (opts.allowNewFailures !== undefined) problems.push('--allow-new-failures is for candidate runs (--kernel)');
    return undefined;
  }
  if (opts.kernel === undefined || !isKernelName(opts.kernel))
    problems.push('a candidate run needs --kernel NAME, a kernelspec name (nblc kernels lists them)');
  if (opts.compareWith === undefined || !(opts.compareWith === 'latest-scheduled' || isRunDirName(opts.compareWith)))
    problems.push('a candidate run needs --compare-with RUN (a run ID, nblc runs) or latest-scheduled');
  const kernelMap: Record<string, string> = {};
  for (const text of opts.kernelMap) {
    const m = parseKernelMapping(text);
    if ('error' in m) problems.push(m.error);
    else kernelMap[m.from] = m.to;
  }
  return {
    kernel: opts.kernel ?? '',
    compareWith: opts.compareWith ?? '',
    ...(Object.keys(kernelMap).length ? { kernelMap } : {}),
  };
}
