import type { EntityKind } from '../core/usage/types.ts';
import type { Row } from './rows.ts';

/** Column positions of the identities in a stored row (see encodeRow in store/usage-repo.ts). */
const IDENTITY_COLUMNS: [EntityKind, number][] = [
  ['service', 6],
  ['api_key', 7],
  ['user', 8],
  ['tenant', 9],
  ['agent', 10],
  ['conversation', 11],
];

export interface EntityRef {
  kind: EntityKind;
  id: string;
}

/**
 * Entities of stored rows whose event time lies before `before` (history arriving late: a migration, a replay).
 * Only those rows are decoded, so ordinary live traffic costs one comparison per row.
 */
export function backfilledEntities(rows: readonly Row[], before: number): EntityRef[] {
  const seen = new Map<string, EntityRef>();
  for (const r of rows) {
    if (r.time >= before) continue;
    let cols: unknown;
    try {
      cols = JSON.parse(r.line);
    } catch {
      continue; // stored already; a row we cannot read here only misses an early baseline rebuild
    }
    if (!Array.isArray(cols)) continue;
    for (const [kind, i] of IDENTITY_COLUMNS) {
      const id: unknown = cols[i];
      if (typeof id === 'string' && id !== '') seen.set(`${kind}\u0000${id}`, { kind, id });
    }
  }
  return [...seen.values()];
}
