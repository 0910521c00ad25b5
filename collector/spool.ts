import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageEvent } from '../core/usage/types.ts';

/**
 * Bounded on-disk spool: batches the store could not take are written here (fsynced) before they are
 * acknowledged, and drained back into the store when it returns, also after a restart.
 */
export interface Spool {
  /** Persists a batch; false when the spool is full (the caller must refuse the data). */
  append(events: readonly UsageEvent[]): Promise<boolean>;
  /** Oldest batch first, or null when empty. */
  peek(): Promise<{ file: string; events: UsageEvent[] } | null>;
  remove(file: string): Promise<void>;
  /** Sets a batch aside that the store refuses for good, so it does not block the rest. */
  quarantine(file: string): Promise<void>;
  bytes(): number;
  files(): number;
}

export async function openSpool(dir: string, maxBytes: number): Promise<Spool> {
  await mkdir(join(dir, 'dead'), { recursive: true });
  const sizes = new Map<string, number>();
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort()) {
    sizes.set(f, (await stat(join(dir, f))).size);
  }
  let total = [...sizes.values()].reduce((a, b) => a + b, 0);
  let seq = 0;
  return {
    async append(events) {
      const body = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
      const size = Buffer.byteLength(body);
      if (total + size > maxBytes) return false;
      const name = `${Date.now().toString().padStart(15, '0')}-${process.pid}-${(seq++).toString().padStart(9, '0')}.ndjson`;
      const tmp = join(dir, name + '.tmp');
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, name));
      sizes.set(name, size);
      total += size;
      return true;
    },
    async peek() {
      const first = [...sizes.keys()].sort()[0];
      if (first === undefined) return null;
      const text = await readFile(join(dir, first), 'utf8');
      const events = text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as UsageEvent);
      return { file: first, events };
    },
    async remove(file) {
      await unlink(join(dir, file));
      total -= sizes.get(file) ?? 0;
      sizes.delete(file);
    },
    async quarantine(file) {
      await rename(join(dir, file), join(dir, 'dead', file));
      total -= sizes.get(file) ?? 0;
      sizes.delete(file);
    },
    bytes: () => total,
    files: () => sizes.size,
  };
}
