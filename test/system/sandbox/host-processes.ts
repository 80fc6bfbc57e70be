/**
 * Finding a sandboxed notebook's processes from the host. Inside its PID namespace a kernel
 * knows only its own pids (it is PID 1), so tests mark processes instead: a process whose
 * command line or name (comm) holds a unique marker, looked up in the host's /proc.
 */
import fs from 'node:fs';

/** Host pids of the live processes whose command line or comm contains `marker`. */
export function pidsMarked(marker: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const comm = fs.readFileSync(`/proc/${name}/comm`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${name}/status`, 'utf8'))?.[1];
      if ((cmdline.includes(marker) || comm.includes(marker)) && state !== 'Z') found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The parent pid of a host process (undefined once it is gone). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Python for a notebook cell: names the kernel process `marker` (its comm, 15 bytes at most). */
export const nameKernel = (marker: string) =>
  `import ctypes\nctypes.CDLL(None).prctl(15, ${JSON.stringify(marker.slice(0, 15))}.encode(), 0, 0, 0)`;
