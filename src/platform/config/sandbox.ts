/** The sandbox's settings from the environment, checked: which variables may reach a kernel, its memory. */
import net from 'node:net';
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
    | 'NBLC_KERNEL_ENV'
    | 'NBLC_CGROUP_ROOT'
    | 'NBLC_KERNEL_NETWORK'
    | 'NBLC_KERNEL_NETWORK_ALLOW'
    | 'NBLC_NOTEBOOK_CPUS'
    | 'NBLC_NOTEBOOK_DISK'
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
  const memory = v.NBLC_NOTEBOOK_MEMORY.trim();
  return {
    enabled: v.NBLC_SANDBOX === 'on',
    kernelUser: v.NBLC_KERNEL_USER,
    notebookMemory: memory.toLowerCase() === 'off' ? '0' : memory.replace(/\s+/g, ''),
    kernelEnv,
    cgroupRoot: v.NBLC_CGROUP_ROOT,
    network: v.NBLC_KERNEL_NETWORK,
    networkAllow: networkAllow(v.NBLC_KERNEL_NETWORK_ALLOW, problems),
    notebookCpus: /^off$/i.test(v.NBLC_NOTEBOOK_CPUS) ? 0 : Number(v.NBLC_NOTEBOOK_CPUS),
    notebookDisk: /^off$/i.test(v.NBLC_NOTEBOOK_DISK.trim()) ? '0' : v.NBLC_NOTEBOOK_DISK.replace(/\s+/g, ''),
  };
}

/**
 * NBLC_KERNEL_NETWORK_ALLOW: what an `outbound` kernel may reach although it is private (a
 * platform's internal services). IPv4 only (the kernel's network has no IPv6), never the host's
 * loopback (slirp4netns refuses it whatever the routes say).
 */
function networkAllow(value: string, problems: string[]): string[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const m = /^([\d.]+)(?:\/(\d{1,2})|:(\d{1,5}))?$/.exec(entry);
    const ok = m && net.isIPv4(m[1]!) && (!m[2] || Number(m[2]) <= 32) && (!m[3] || Number(m[3]) <= 65535);
    if (!ok) {
      problems.push(
        `NBLC_KERNEL_NETWORK_ALLOW: "${entry}" is not an IPv4 CIDR (10.1.0.0/16), address or address:port (10.1.2.3:5432)`,
      );
    } else if (m[1]!.startsWith('127.')) {
      problems.push(
        `NBLC_KERNEL_NETWORK_ALLOW: "${entry}" is the host's loopback, which kernels never reach: have the service listen on another address and list that`,
      );
    }
  }
  return entries;
}
