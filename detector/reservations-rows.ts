import type { Amounts } from '../core/quota/admission.ts';
import type { Policy } from '../core/quota/policy.ts';
import { USAGE_COLUMNS } from '../store/usage-repo.ts';
import { fromChTime } from '../store/time.ts';

/** The span attribute a gateway sets to tie a call's usage to its admission. */
export const RESERVATION_ATTRIBUTE = 'tollkeeper.reservation.id';

/** What admission needs of one stored usage row. */
export interface StoredUsage {
  time: number;
  /** Entity kinds and event columns a `match` selector may name (api_key, tenant, model, …). */
  columns: Record<string, string>;
  attributes: Record<string, string>;
  amounts: Amounts;
  reservationId: string;
}

const at = (name: (typeof USAGE_COLUMNS)[number]): number => USAGE_COLUMNS.indexOf(name);
const STRING_COLUMNS = ['api_key', 'user', 'tenant', 'agent', 'conversation', 'service', 'model', 'provider', 'operation', 'family', 'tool_name'] as const;
const STRINGS = STRING_COLUMNS.map((c) => [c, at(c)] as const);
const I = {
  time: at('time'),
  attributes: at('attributes'),
  input: at('input_tokens'),
  output: at('output_tokens'),
  cacheRead: at('cache_read_tokens'),
  cacheWrite: at('cache_write_tokens'),
  reasoning: at('reasoning_tokens'),
  requests: at('requests'),
  toolCalls: at('tool_calls'),
  compute: at('compute_seconds'),
  cost: at('cost_usd'),
};

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A stored row (the collector's encoded line) read back for admission; undefined for a line that is not one. */
export function storedUsage(line: string): StoredUsage | undefined {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(row) || row.length !== USAGE_COLUMNS.length) return undefined;
  const time = typeof row[I.time] === 'string' ? fromChTime(row[I.time] as string) : NaN;
  if (!Number.isFinite(time)) return undefined;
  const columns: Record<string, string> = {};
  for (const [c, i] of STRINGS) {
    const v: unknown = row[i];
    if (typeof v === 'string' && v !== '') columns[c] = v;
  }
  const attrs: unknown = row[I.attributes];
  const attributes = typeof attrs === 'object' && attrs !== null ? (attrs as Record<string, string>) : {};
  const input = num(row[I.input]);
  const output = num(row[I.output]);
  return {
    time,
    columns,
    attributes,
    amounts: {
      input_tokens: input,
      output_tokens: output,
      reasoning_tokens: num(row[I.reasoning]),
      cached_tokens: num(row[I.cacheRead]),
      cache_write_tokens: num(row[I.cacheWrite]),
      tokens: input + output,
      cost_usd: num(row[I.cost]),
      requests: num(row[I.requests]),
      tool_calls: num(row[I.toolCalls]),
      compute_hours: num(row[I.compute]) / 3600,
    },
    reservationId: attributes[RESERVATION_ATTRIBUTE] ?? '',
  };
}

/** The entity a row counts for under a policy (its scope's column or kept attribute), when its `match` holds. */
export function entityUnder(policy: Policy, u: Pick<StoredUsage, 'columns' | 'attributes'>): string | undefined {
  for (const [k, v] of Object.entries(policy.match)) if ((u.columns[k] ?? u.attributes[k]) !== v) return undefined;
  const id = u.columns[policy.scope] ?? u.attributes[policy.scope];
  return id === undefined || id === '' ? undefined : id;
}
