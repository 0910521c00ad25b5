// The data-directory lock tells a crashed holder from a live one even when its pid was reused: by another
// process on the host, or by the restarted tollkeeper itself (node is PID 1 in a container, after every restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../store/data-lock.ts';
import { canUnshare } from '../helpers/privileges.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHILD = join(ROOT, 'test/helpers/lock-child.ts');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tk-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A process that has nothing to do with tollkeeper. */
function unrelated(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

interface Child {
  proc: ChildProcess;
  output: () => string;
  done: Promise<number | null>;
}

/** lock-child.ts, optionally as PID 1 of a new pid namespace (`unshare --fork --pid --mount-proc`). */
function lockChild(dir: string, mode: 'crash' | 'hold', o: { namespace?: boolean; heartbeatMs?: number } = {}): Child {
  const node = [process.execPath, '--import', 'tsx', CHILD, dir, mode, String(o.heartbeatMs ?? 200)];
  const [cmd, ...args] = o.namespace ? ['unshare', '--fork', '--pid', '--mount-proc', '--kill-child', ...node] : node;
  const proc = spawn(cmd!, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => proc.on('close', resolve));
  cleanups.push(() => proc.kill('SIGKILL'));
  return { proc, output: () => out, done };
}

const noUnshare = canUnshare();
if (noUnshare) console.warn(`pid namespace lock tests skipped: ${noUnshare}`);

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('data-directory lock', () => {
  it('takes over a lock whose pid now belongs to an unrelated live process (lock file of an older version)', async () => {
    const dir = tempDir();
    const other = unrelated();
    // Written by a tollkeeper that crashed an hour ago; its pid is now the `sleep` started just now.
    writeFileSync(join(dir, 'tollkeeper.lock'), String(other.pid));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 'tollkeeper.lock'), anHourAgo, anHourAgo);
    const release = await lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'tollkeeper.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    release();
  });

  it('takes over a lock whose pid now belongs to an unrelated live process (start time differs)', async () => {
    const dir = tempDir();
    const other = unrelated();
    const ns = readlinkSync('/proc/self/ns/pid');
    writeFileSync(join(dir, 'tollkeeper.lock'), JSON.stringify({ pid: other.pid, start: '1', boot: bootId(), ns, heartbeatMs: 2000 }));
    const release = await lockDataDir(dir);
    release();
  });

  it('takes over a lock left before the machine rebooted', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tollkeeper.lock'), JSON.stringify({ pid: process.pid, start: '1', boot: 'another-boot', ns: 'pid:[1]' }));
    (await lockDataDir(dir))();
  });

  it('refuses a second live tollkeeper with a clear message, in this process and in another', async () => {
    const dir = tempDir();
    const release = await lockDataDir(dir);
    cleanups.push(release);
    const err = await lockDataDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirInUseError);
    const other = lockChild(dir, 'hold');
    expect(await other.done).toBe(3);
    expect(other.output()).toContain(`refused: data directory ${dir} is in use by another tollkeeper process (pid ${process.pid}). Stop it, or start this one with another --data directory.`);
  });
});

describe.skipIf(noUnshare)('data-directory lock across pid namespaces (node as PID 1, as in a container)', () => {
  it('restarts as PID 1 after a crash as PID 1', async () => {
    const dir = tempDir();
    const crashed = lockChild(dir, 'crash', { namespace: true });
    expect(await crashed.done).toBe(0);
    expect(crashed.output()).toContain('locked 1\n');
    expect(readFileSync(join(dir, 'tollkeeper.lock'), 'utf8')).toContain('"pid":1');
    // The restart: PID 1 again, in a new namespace; the old holder stopped touching the lock when it died.
    const restarted = lockChild(dir, 'hold', { namespace: true });
    await waitFor(() => restarted.output().includes('locked 1\n') || restarted.output().includes('refused'), { timeoutMs: 15_000, what: 'the restart to take the lock' });
    expect(restarted.output()).toBe('locked 1\n');
    restarted.proc.stdin!.end();
    expect(await restarted.done).toBe(0);
  });

  it('refuses a second live tollkeeper that is PID 1 of another namespace', async () => {
    const dir = tempDir();
    const first = lockChild(dir, 'hold', { namespace: true });
    await waitFor(() => first.output().includes('locked 1\n'), { timeoutMs: 15_000, what: 'the first holder' });
    const second = lockChild(dir, 'hold', { namespace: true });
    expect(await second.done).toBe(3);
    expect(second.output()).toContain(`refused: data directory ${dir} is in use by another tollkeeper process (pid 1 in another container or pid namespace)`);
    // The first one stops: the lock is free again.
    first.proc.stdin!.end();
    expect(await first.done).toBe(0);
    const third = lockChild(dir, 'crash', { namespace: true });
    expect(await third.done).toBe(0);
    expect(third.output()).toBe('locked 1\n');
  });
});
