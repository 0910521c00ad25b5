import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { UsageRepo } from '../store/usage-repo.ts';
import { freshRows } from './fresh-rows.ts';
import { storeOrIsolate } from './isolate.ts';
import { RecentIds } from './recent-ids.ts';
import { rowFromRecord, type Row } from './rows.ts';
import { openSpool } from './spool.ts';

export interface ReplayReport {
  /** Dead-letter files read. */
  files: number;
  /** Events stored now. */
  replayed: number;
  /** Events already in the store (stored before, or by an earlier replay): not stored twice. */
  alreadyStored: number;
  /** Records still unusable (the store cannot parse them, or they are not events): kept in spool/dead. */
  kept: number;
}

/**
 * Re-submits what was set aside in `<spool>/dead`: each file's events are stored (those already stored are
 * skipped by event id, so a replay never counts twice), and what the store still cannot parse is written back to
 * spool/dead in a new file before the old one is removed, so a crash mid-replay loses nothing. Any other store
 * failure stops the replay with the file left as it was (run it again later).
 */
export async function replayDead(o: { spoolDir: string; repo: Pick<UsageRepo, 'existingIds' | 'insertRows'> }): Promise<ReplayReport> {
  const spool = await openSpool(o.spoolDir, Number.MAX_SAFE_INTEGER);
  const deadDir = join(o.spoolDir, 'dead');
  const before = new Set((await readdir(deadDir)).filter((f) => f.endsWith('.ndjson')));
  const report: ReplayReport = { files: 0, replayed: 0, alreadyStored: 0, kept: 0 };
  const recent = new RecentIds(1_000_000);
  const fresh = freshRows(o.repo, recent, undefined);
  for (const file of [...before].sort()) {
    const lines = (await readFile(join(deadDir, file), 'utf8')).split('\n').filter((l) => l.length > 0);
    const unusable: string[] = [];
    const rows: Row[] = [];
    for (const line of lines) {
      try {
        rows.push(rowFromRecord(line));
      } catch {
        unusable.push(line);
      }
    }
    const poison = await storeOrIsolate(rows, async (batch) => {
      const todo = await fresh(batch);
      if (todo.length > 0) await o.repo.insertRows(todo.map((r) => r.line));
      // Counted once the insert succeeded: a half that fails is retried in smaller halves.
      for (const r of todo) recent.addKey(r.key, r.time);
      report.alreadyStored += batch.length - todo.length;
      report.replayed += todo.length;
    }, () => undefined);
    const keep = [...unusable, ...poison.map((r) => r.line)];
    if (keep.length > 0) await spool.bury(keep);
    await unlink(join(deadDir, file));
    report.files++;
    report.kept += keep.length;
  }
  return report;
}
