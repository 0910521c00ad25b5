import { readFileSync } from 'node:fs';

// Linux counts CPU time in clock ticks of 1/100 s (USER_HZ) in /proc.
const TICK_MS = 10;

/**
 * CPU time (ms) of this process's main thread alone, from /proc (Linux; undefined elsewhere). Unlike the event
 * loop's busy time, which is wall time and grows while the thread waits for a CPU on a loaded machine, this is
 * time actually spent running, and unlike process.cpuUsage() it leaves out ClickHouse's threads.
 */
export function mainThreadCpuMs(): number | undefined {
  return threadCpuMs(process.pid);
}

/**
 * CPU time (ms) of one thread by its OS thread id (a worker's: GatewayListener.osThreadId), in this process or in
 * process `pid`.
 */
export function threadCpuMs(tid: number | undefined, pid: number | 'self' = 'self'): number | undefined {
  if (tid === undefined) return undefined;
  const fields = statFields(pid, tid);
  // utime and stime are fields 14 and 15.
  return fields && (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** CPU time (ms) of a whole process, all its threads (Linux; undefined when unreadable). */
export function processCpuMs(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields && (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * The fields of /proc/<pid>/task/<tid>/stat (or /proc/<pid>/stat: the whole process) from field 3 on (after the command name, which may hold spaces, inside
 * parentheses), or undefined when unreadable.
 */
function statFields(pid: number | 'self', tid?: number): string[] | undefined {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The nice value of a process (its main thread) or one of its threads (Linux), or undefined when unreadable. */
export function niceOf(pid: number, tid: number = pid): number | undefined {
  const fields = statFields(pid, tid);
  // The nice value is field 19.
  return fields && Number(fields[16]);
}

/**
 * The machine's CPU time so far from the /proc/stat `cpu` line (all CPUs, in ticks): `steal` is time the hypervisor
 * gave to other guests while this VM had work to run; `total` is user … steal.
 */
export function machineCpuTicks(): { steal: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { steal: v[7] ?? 0, total: v.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** Steal time between two readings, in % of all CPUs' time (undefined when /proc/stat is unreadable). */
export function stealPercent(a: ReturnType<typeof machineCpuTicks>, b: ReturnType<typeof machineCpuTicks>): number | undefined {
  if (!a || !b || b.total <= a.total) return undefined;
  return ((b.steal - a.steal) / (b.total - a.total)) * 100;
}
