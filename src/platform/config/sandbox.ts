/** The sandbox's settings from the environment, checked: which variables may reach a kernel, its memory. */
import type { Vars } from './schema.js';
import type { SandboxConfig } from './types.js';

/** Never passed to a kernel, even when listed in NBLC_KERNEL_ENV: nblc's own and Temporal's settings and secrets. */
const KERNEL_ENV_FORBIDDEN = /^(NBLC_|TEMPORAL_)/;

export function sandboxConfig(
  v: Pick<
    Vars,
    | 'NBLC_SANDBOX'
    | 'NBLC_KERNEL_USER'
    | 'NBLC_NOTEBOOK_MEMORY'
    | 'NBLC_NOTEBOOK_MEMORY_MAX'
    | 'NBLC_KERNEL_ENV'
    | 'NBLC_CGROUP_ROOT'
  >,
  problems: string[],
): SandboxConfig {
  const kernelEnv = v.NBLC_KERNEL_ENV.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of kernelEnv) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`NBLC_KERNEL_ENV: "${name}" is not a variable name`);
    else if (KERNEL_ENV_FORBIDDEN.test(name)) {
      problems.push(`NBLC_KERNEL_ENV: ${name} is nblc's or Temporal's own and never reaches a kernel`);
    }
  }
  const size = (text: string) => (text.trim().toLowerCase() === 'off' ? '0' : text.replace(/\s+/g, ''));
  const notebookMemory = size(v.NBLC_NOTEBOOK_MEMORY);
  return {
    enabled: v.NBLC_SANDBOX === 'on',
    kernelUser: v.NBLC_KERNEL_USER,
    notebookMemory,
    notebookMemoryMax: v.NBLC_NOTEBOOK_MEMORY_MAX === undefined ? notebookMemory : size(v.NBLC_NOTEBOOK_MEMORY_MAX),
    kernelEnv,
    cgroupRoot: v.NBLC_CGROUP_ROOT,
  };
}
