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
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** The nice value of a process (its main thread) or one of its threads (Linux), or undefined when unreadable. */
export function niceOf(pid: number, tid: number = pid): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Field 19 (nice); fields after the command name start at field 3.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  } catch {
    return undefined;
  }
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
