import type { Row } from '../collector/rows.ts';
import type { FreshEvent } from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import { USAGE_COLUMNS } from '../store/usage-repo.ts';

const col = (name: (typeof USAGE_COLUMNS)[number]): number => USAGE_COLUMNS.indexOf(name);
const IDENTITIES: [EntityKind, number][] = [
  ['service', col('service')],
  ['api_key', col('api_key')],
  ['user', col('user')],
  ['tenant', col('tenant')],
  ['agent', col('agent')],
  ['conversation', col('conversation')],
];
const TENANT = col('tenant');
const AMOUNTS = { input: col('input_tokens'), output: col('output_tokens'), requests: col('requests'), tools: col('tool_calls'), cost: col('cost_usd') };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * The stored rows of one batch as fresh-path events (identities and amounts), for the detector running in the same
 * process. A row that cannot be read here is skipped: it is stored, and the per-minute series still count it.
 */
export function freshEvents(rows: readonly Row[]): FreshEvent[] {
  const out: FreshEvent[] = [];
  for (const r of rows) {
    let cols: unknown;
    try {
      cols = JSON.parse(r.line);
    } catch {
      continue;
    }
    if (!Array.isArray(cols) || cols.length !== USAGE_COLUMNS.length) continue;
    const entities: { kind: EntityKind; id: string }[] = [];
    for (const [kind, i] of IDENTITIES) {
      const id: unknown = cols[i];
      if (typeof id === 'string' && id !== '') entities.push({ kind, id });
    }
    const tenant: unknown = cols[TENANT];
    out.push({
      time: r.time,
      entities,
      tenant: typeof tenant === 'string' ? tenant : '',
      requests: num(cols[AMOUNTS.requests]),
      toolCalls: num(cols[AMOUNTS.tools]),
      tokens: num(cols[AMOUNTS.input]) + num(cols[AMOUNTS.output]),
      costUsd: num(cols[AMOUNTS.cost]),
    });
  }
  return out;
}
