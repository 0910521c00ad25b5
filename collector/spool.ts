import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
/**
 * Bounded on-disk spool: batches the store could not take are written here (fsynced) before they are
 * acknowledged, and drained back into the store when it returns, also after a restart. A batch is a file of
 * records, one a line (the writer's records are JSON, so they hold no raw newline); what they mean is the
 * caller's business.
 */
export interface Spool {
  /** Persists a batch; false when the spool is full (the caller must refuse the data). */
  append(records: readonly string[]): Promise<boolean>;
  /** Oldest batch first, or null when empty. */
  peek(): Promise<{ file: string; records: string[] } | null>;
  remove(file: string): Promise<void>;
  /** Sets a batch aside that the store refuses for good (or that cannot be read), so it does not block the rest. */
  quarantine(file: string): Promise<void>;
  /** Writes records the store refuses for good to spool/dead (fsynced), for an operator to inspect. */
  bury(records: readonly string[]): Promise<void>;
  bytes(): number;
  files(): number;
}

/** Opens (or creates) the spool in `dir`; batch files left by an earlier run are drained like new ones. */
export async function openSpool(dir: string, maxBytes: number): Promise<Spool> {
  const deadDir = join(dir, 'dead');
  await mkdir(deadDir, { recursive: true });
  // Insertion order is age order: files found at open, sorted by name (time first), then appends.
  const sizes = new Map<string, number>();
  for (const f of (await readdir(dir)).sort()) {
    // A .tmp file was never renamed, so never acknowledged: its writer died before the fsync finished.
    if (f.endsWith('.tmp')) await unlink(join(dir, f));
    else if (f.endsWith('.ndjson')) sizes.set(f, (await stat(join(dir, f))).size);
  }
  let total = [...sizes.values()].reduce((a, b) => a + b, 0);
  let seq = 0;

  /** Unique, time-ordered name; the random part keeps a restarted process (same pid, clock set back) off old names. */
  const newName = () => `${Date.now().toString().padStart(15, '0')}-${process.pid}-${(seq++).toString().padStart(9, '0')}-${randomBytes(4).toString('hex')}.ndjson`;

  /** Writes `body` durably under `target`: a temp file fsynced, renamed, and the rename fsynced too. */
  async function writeDurably(target: string, body: string): Promise<void> {
    const tmp = target + '.tmp';
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDir(join(target, '..'));
  }

  return {
    async append(records) {
      const body = serialize(records);
      const size = Buffer.byteLength(body);
      if (total + size > maxBytes) return false;
      const name = newName();
      total += size; // reserved now, so concurrent appends cannot overshoot the bound
      try {
        await writeDurably(join(dir, name), body);
      } catch (err) {
        total -= size;
        throw err;
      }
      sizes.set(name, size);
      return true;
    },
    async peek() {
      for (const first of sizes.keys()) {
        let text: string;
        try {
          text = await readFile(join(dir, first), 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          total -= sizes.get(first) ?? 0; // removed behind our back: nothing left to drain
          sizes.delete(first);
          continue;
        }
        return { file: first, records: text.split('\n').filter((line) => line.length > 0) };
      }
      return null;
    },
    async remove(file) {
      await unlink(join(dir, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      total -= sizes.get(file) ?? 0;
      sizes.delete(file);
    },
    async quarantine(file) {
      await rename(join(dir, file), join(deadDir, file));
      total -= sizes.get(file) ?? 0;
      sizes.delete(file);
    },
    async bury(records) {
      await writeDurably(join(deadDir, newName()), serialize(records));
    },
    bytes: () => total,
    files: () => sizes.size,
  };
}

function serialize(records: readonly string[]): string {
  for (const r of records) if (r.includes('\n')) throw new Error('a spool record holds a newline');
  return records.join('\n') + '\n';
}

/** Makes a rename in `dir` survive a power cut, so an acknowledged batch is not left under its temp name. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
