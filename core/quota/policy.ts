import type { PeriodSpec } from './period.ts';

/** Quantities a policy can limit (docs/concepts/quotas.md). */
export const DIMENSIONS = [
  'input_tokens',
  'output_tokens',
  'reasoning_tokens',
  'cached_tokens',
  'cache_write_tokens',
  'tokens',
  'cost_usd',
  'requests',
  'tool_calls',
  'compute_hours',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export type PolicyAction =
  | { type: 'alert' }
  | { type: 'revoke' }
  | { type: 'throttle'; requestsPerMinute?: number; tokensPerMinute?: number };

export interface Policy {
  name: string;
  /** Entity kind (api_key, user, tenant, agent, conversation, service) or a mapped attribute name. */
  scope: string;
  match: Record<string, string>;
  period: PeriodSpec;
  limits: Partial<Record<Dimension, number>>;
  thresholds: number[];
  action: PolicyAction;
}

/** Usage of one entity in one period, per dimension. */
export type Usage = Record<Dimension, number>;

export function emptyUsage(): Usage {
  return Object.fromEntries(DIMENSIONS.map((d) => [d, 0])) as Usage;
}
