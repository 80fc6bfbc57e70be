/** The sandbox's settings from the environment, checked: which variables may reach a kernel, its memory. */
import type { Vars } from './schema.js';
import type { SandboxConfig } from './types.js';

/** Never passed to a kernel, even when listed in NBLC_KERNEL_ENV: nblc's own and Temporal's settings and secrets. */
const KERNEL_ENV_FORBIDDEN = /^(NBLC_|TEMPORAL_)/;

export function sandboxConfig(
  v: Pick<Vars, 'NBLC_SANDBOX' | 'NBLC_KERNEL_USER' | 'NBLC_NOTEBOOK_MEMORY' | 'NBLC_KERNEL_ENV' | 'NBLC_CGROUP_ROOT'>,
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
  const memory = v.NBLC_NOTEBOOK_MEMORY.trim();
  return {
    enabled: v.NBLC_SANDBOX === 'on',
    kernelUser: v.NBLC_KERNEL_USER,
    notebookMemory: memory.toLowerCase() === 'off' ? '0' : memory.replace(/\s+/g, ''),
    kernelEnv,
    cgroupRoot: v.NBLC_CGROUP_ROOT,
  };
}
