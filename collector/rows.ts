import type { UsageEvent } from '../core/usage/types.ts';
import { encodeRow, rowIdentity } from '../store/usage-repo.ts';
import { recentKey } from './recent-ids.ts';
import { wellFormed } from './well-formed.ts';

/**
 * An event as the writer keeps it between acknowledgement and the store: its encoded row (what is inserted
 * and what is spooled), its id and time (for dedup), and its key in the recent-id set. One string instead of
 * the event's object graph: queued events cost far less memory and garbage-collection time.
 */
export interface Row {
  key: string;
  id: string;
  time: number;
  line: string;
}

/** Encodes events; those the encoder refuses (e.g. a non-finite number) come back in `refused`. */
export function toRows(events: readonly UsageEvent[]): { rows: Row[]; refused: UsageEvent[] } {
  const rows: Row[] = [];
  const refused: UsageEvent[] = [];
  for (const event of events) {
    // Made well-formed first, so an id is looked up exactly as it is stored.
    const e = wellFormed(event);
    let line: string;
    try {
      line = encodeRow(e);
    } catch {
      refused.push(e);
      continue;
    }
    rows.push({ key: recentKey(e.eventId), id: e.eventId, time: e.time, line });
  }
  return { rows, refused };
}

/**
 * A spooled record back as a row. Spools written before rows were encoded hold one event object a line; they
 * are encoded now. Throws on a damaged record (the caller sets its file aside).
 */
export function rowFromRecord(record: string): Row {
  if (record.startsWith('{')) {
    const e = JSON.parse(record) as UsageEvent;
    if (typeof e.eventId !== 'string') throw new Error('spooled event without an eventId');
    const { rows } = toRows([e]);
    if (rows.length === 0) throw new Error(`spooled event ${e.eventId} cannot be encoded`);
    return rows[0]!;
  }
  const { id, time } = rowIdentity(record);
  return { key: recentKey(id), id, time, line: record };
}
