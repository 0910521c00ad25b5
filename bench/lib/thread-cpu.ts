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

/** CPU time (ms) of one thread of this process by its OS thread id (a worker's: GatewayListener.osThreadId). */
export function threadCpuMs(tid: number | undefined): number | undefined {
  if (tid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}
