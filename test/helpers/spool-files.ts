import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Event ids in the spool's batch files (`dead` = the set-aside batches), read straight from disk. */
export function spooledIds(spoolDir: string, which: 'live' | 'dead' = 'live'): string[] {
  const dir = which === 'dead' ? join(spoolDir, 'dead') : spoolDir;
  if (!existsSync(dir)) return [];
  const ids: string[] = [];
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.ndjson'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        // Encoded rows (JSON arrays, the event id first); spools of older versions hold event objects.
        const record = JSON.parse(line) as string[] | { eventId: string };
        ids.push(Array.isArray(record) ? record[0]! : record.eventId);
      } catch {
        ids.push(`<unreadable line in ${f}>`);
      }
    }
  }
  return ids;
}

/** Names of the batch files in the spool (or its `dead` folder). */
export function spoolFileNames(spoolDir: string, which: 'live' | 'dead' = 'live'): string[] {
  const dir = which === 'dead' ? join(spoolDir, 'dead') : spoolDir;
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.ndjson')) : [];
}
