import type { Change } from '../core/enforcement/types.ts';
import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

export interface LoggedChange extends Change {
  at: number;
  actor: string;
  source: string;
  reason: string;
}

interface Row {
  version: number;
  at: string;
  op: string;
  kind: string;
  id: string;
  entry: string;
  actor: string;
  source: string;
  reason: string;
}

function fromRow(r: Row): LoggedChange {
  return {
    version: Number(r.version),
    op: r.op === 'remove' ? 'remove' : 'upsert',
    kind: r.kind,
    id: r.id,
    ...(r.entry ? { entry: JSON.parse(r.entry) as Change['entry'] } : {}),
    at: fromChTime(r.at),
    actor: r.actor,
    source: r.source,
    reason: r.reason,
  };
}

/** The revocation list's append-only change log: the list and its version survive restarts through it. */
export function createEnforcementRepo(ch: ClickHouse) {
  const log = ch.table('enforcement_log');
  return {
    /** Appends changes in one insert: a tick that changes 500 entries writes one block, not 500. */
    async append(changes: readonly LoggedChange[]): Promise<void> {
      if (changes.length === 0) return;
      await ch.insert(
        'enforcement_log',
        changes.map((c) => ({ version: c.version, at: chTime(c.at), op: c.op, kind: c.kind, id: c.id, entry: c.entry ? JSON.stringify(c.entry) : '', actor: c.actor, source: c.source, reason: c.reason })),
        { tag: 'enforcement.append' },
      );
    },
    async loadAll(): Promise<LoggedChange[]> {
      const rows = await ch.query<Row>(`SELECT * FROM ${log} ORDER BY version`, undefined, { tag: 'enforcement.load' });
      return rows.map(fromRow);
    },
    async history(kind: string, id: string, limit = 200): Promise<LoggedChange[]> {
      const rows = await ch.query<Row>(
        `SELECT * FROM ${log} WHERE kind = {kind:String} AND id = {id:String} ORDER BY version DESC LIMIT {limit:UInt32}`,
        { kind, id, limit },
        { tag: 'enforcement.history' },
      );
      return rows.map(fromRow);
    },
  };
}
export type EnforcementRepo = ReturnType<typeof createEnforcementRepo>;
