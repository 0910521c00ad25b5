// Faults that need the kernel's help (a small tmpfs, a pid namespace) and whether this machine allows them: root
// in CI and in the dev container; a developer without root gets a reason, and the tests fall back or skip.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const stderrOf = (err: unknown) => String((err as { stderr?: Buffer }).stderr ?? err).trim();

/** null when `unshare --fork --pid --mount-proc` works here, else why not. */
export function canUnshare(): string | null {
  if (process.platform !== 'linux') return 'pid namespaces are Linux only';
  try {
    execFileSync('unshare', ['--fork', '--pid', '--mount-proc', 'true'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `unshare --fork --pid --mount-proc is not permitted here: ${stderrOf(err)}`;
  }
}

export interface Tmpfs {
  dir: string;
  /** Unmounts it and removes the mount point. */
  remove(): void;
}

/** Mounts a tmpfs of `mib` MiB, or says why it cannot (not root, no mount permission in this sandbox). */
export function mountTmpfs(mib: number, prefix = 'tk-tmpfs-'): Tmpfs | { skip: string } {
  // Set to run the fallbacks a developer without root gets.
  if (process.env.TOLLKEEPER_TEST_NO_TMPFS) return { skip: 'TOLLKEEPER_TEST_NO_TMPFS is set' };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { skip: 'needs root on Linux to mount a tmpfs' };
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs not permitted here: ${stderrOf(err)}` };
  }
  return {
    dir,
    remove() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` through `file` until only about `leaveBytes` are free (tmpfs counts in 4 KiB pages). */
export function fillDisk(dir: string, file: string, leaveBytes: number): void {
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bavail, bsize } = statfsSync(dir);
      const free = bavail * bsize;
      if (free <= leaveBytes) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, free - leaveBytes));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes sure this process may open `n` files (its children inherit the limit): raises the soft limit with
 * `prlimit` when it is lower (up to the hard limit, or past it as root). null when done, else why not.
 */
export function ensureFileLimit(n: number): string | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!m) return 'cannot read the open-file limit from /proc/self/limits';
  const [soft, hard] = [m[1]!, m[2]!].map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  if (soft! >= n) return null;
  const newHard = Math.max(hard!, n);
  if (newHard > hard! && process.getuid?.() !== 0) return `the open-file limit is ${soft} (hard ${hard}); ${n} are needed: raise it with ulimit -n ${n}`;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${n}:${Number.isFinite(newHard) ? newHard : 'unlimited'}`], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot raise the open-file limit from ${soft} to ${n}: ${stderrOf(err)}`;
  }
}
