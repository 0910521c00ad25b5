import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootTimeSeconds, pidAlive, selfIdentity, startTimeOf, type ProcessIdentity } from './process-identity.ts';

export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    where = '',
  ) {
    super(
      `data directory ${dir} is in use by another tollkeeper process (pid ${pid}${where}). ` +
        `Stop it, or start this one with another --data directory.`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface LockOptions {
  /**
   * How often the holder touches the lock file (default 2 s). A holder in another pid namespace (another
   * container on the same volume) cannot be looked up in /proc: it is alive while the file's mtime moves, and
   * gone once it has not moved for three intervals.
   */
  heartbeatMs?: number;
}

/** What the lock file says: who holds it, and how often it touches the file. */
type LockHolder = ProcessIdentity & { heartbeatMs?: number };

type Verdict = { held: false } | { held: true; pid: number; where: string };
const STALE: Verdict = { held: false };
/** Clock ticks per second of /proc start times (USER_HZ, 100 on every Linux ABI Node runs on). */
const CLOCK_TICKS = 100;

/** A lock file written before locks recorded process identity: just a pid. */
function judgeLegacy(pid: number, file: string): Verdict {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !pidAlive(pid)) return STALE;
  // A process that started after the lock was written cannot have written it: its pid was reused.
  const start = startTimeOf(pid);
  const boot = bootTimeSeconds();
  if (start !== undefined && boot !== undefined && (boot + Number(start) / CLOCK_TICKS) * 1000 > statSync(file).mtimeMs + 1000) return STALE;
  return { held: true, pid, where: '' };
}

/** The holder shares our pid namespace: its pid and start time say whether it still runs. */
function judgeVisible(holder: ProcessIdentity, me: ProcessIdentity): Verdict {
  if (holder.pid === me.pid) return holder.start === me.start ? { held: true, pid: holder.pid, where: ', this process' } : STALE;
  if (!pidAlive(holder.pid)) return STALE;
  const start = startTimeOf(holder.pid);
  if (holder.start !== undefined && start !== undefined && start !== holder.start) return STALE; // pid reused
  return { held: true, pid: holder.pid, where: '' };
}

/** The holder runs in another pid namespace: alive while it keeps touching the file. */
async function judgeByHeartbeat(holder: LockHolder, file: string, defaultHeartbeatMs: number): Promise<Verdict> {
  const heartbeatMs = typeof holder.heartbeatMs === 'number' && holder.heartbeatMs > 0 ? holder.heartbeatMs : defaultHeartbeatMs;
  const staleMs = heartbeatMs * 3;
  const first = statSync(file).mtimeMs;
  const held: Verdict = { held: true, pid: holder.pid, where: ' in another container or pid namespace' };
  for (;;) {
    const mtime = statSync(file).mtimeMs;
    if (mtime !== first) return held;
    if (Date.now() - mtime > staleMs) return STALE;
    await sleep(Math.max(10, Math.min(heartbeatMs / 4, staleMs - (Date.now() - mtime) + 5)));
  }
}

async function judge(file: string, me: ProcessIdentity, heartbeatMs: number): Promise<Verdict> {
  const text = readFileSync(file, 'utf8').trim();
  let holder: LockHolder;
  try {
    holder = JSON.parse(text) as LockHolder;
    if (typeof holder !== 'object' || holder === null || !Number.isInteger(holder.pid)) return STALE;
  } catch {
    return judgeLegacy(Number(text), file);
  }
  if (holder.boot !== undefined && me.boot !== undefined && holder.boot !== me.boot) return STALE; // rebooted since
  if (holder.ns === me.ns) return judgeVisible(holder, me);
  return judgeByHeartbeat(holder, file, heartbeatMs);
}

/**
 * Takes the one-process-per-data-directory lock that embedded ClickHouse needs, with a message a user can act on
 * (chdb itself only fails with "Cannot lock file" on stderr). The lock records the holder's pid, start time, boot
 * and pid namespace, so a lock left by a crash is taken over even when its pid now belongs to another process, or
 * to this one (node is PID 1 in a container, after every restart). Resolves to the release function.
 */
export async function lockDataDir(dir: string, o: LockOptions = {}): Promise<() => void> {
  const heartbeatMs = o.heartbeatMs ?? 2000;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tollkeeper.lock');
  const me = selfIdentity();
  const mine = JSON.stringify({ ...me, heartbeatMs });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, mine);
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let verdict: Verdict;
      try {
        verdict = await judge(file, me, heartbeatMs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released while we looked
        throw e;
      }
      if (verdict.held) throw new DataDirInUseError(dir, verdict.pid, verdict.where);
      try {
        unlinkSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    const heartbeat = setInterval(() => {
      const now = new Date();
      utimes(file, now, now).catch(() => undefined);
    }, heartbeatMs);
    heartbeat.unref();
    return () => {
      clearInterval(heartbeat);
      try {
        // Only our own lock: never one another process took over meanwhile.
        if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
      } catch {
        // already gone
      }
    };
  }
  throw new Error(`could not lock data directory ${dir}: its lock file ${file} keeps changing`);
}
