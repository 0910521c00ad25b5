import { readFileSync, readlinkSync } from 'node:fs';

/**
 * What tells one process from another that later gets the same pid: its start time since boot (field 22 of
 * /proc/<pid>/stat, in clock ticks), the boot it belongs to, and the pid namespace its pid is counted in
 * (a container's PID 1 is not the host's). Undefined fields: not Linux, or /proc not readable.
 */
export interface ProcessIdentity {
  pid: number;
  start?: string;
  boot?: string;
  ns?: string;
}

function tryRead(read: () => string): string | undefined {
  try {
    return read().trim();
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function startTimeOf(pid: number | 'self'): string | undefined {
  const stat = tryRead(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === undefined) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // `rest` starts at field 3 (state).
  const start = rest[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

export function selfIdentity(): ProcessIdentity {
  const start = startTimeOf('self');
  const boot = tryRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const ns = tryRead(() => readlinkSync('/proc/self/ns/pid'));
  return { pid: process.pid, ...(start ? { start } : {}), ...(boot ? { boot } : {}), ...(ns ? { ns } : {}) };
}

/** Seconds since the epoch at which the system booted (`btime` in /proc/stat), for pre-identity lock files. */
export function bootTimeSeconds(): number | undefined {
  const stat = tryRead(() => readFileSync('/proc/stat', 'utf8'));
  const m = stat === undefined ? null : /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) : undefined;
}

/** Whether a process with this pid exists (in our pid namespace). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
