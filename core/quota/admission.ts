import type { EntityRef } from '../enforcement/decide.ts';
import type { Limits } from './evaluate.ts';
import type { Dimension } from './policy.ts';

/** An amount per quota dimension (only the dimensions that matter are present). */
export type Amounts = Partial<Record<Dimension, number>>;

/**
 * What one call may use at most, per dimension, from what the gateway knows before the call: its input tokens,
 * the output cap it sends, and the worst-case cost. Every cached or reasoning count is bounded by its parent, so
 * the worst case of those is the parent itself. Tool calls and compute time are not known before the call: 0.
 */
export function worstCaseUsage(e: { inputTokens: number; maxOutputTokens: number; costUsd: number }): Amounts {
  const input = e.inputTokens;
  const output = e.maxOutputTokens;
  return {
    input_tokens: input,
    output_tokens: output,
    reasoning_tokens: output,
    cached_tokens: input,
    cache_write_tokens: input,
    tokens: input + output,
    cost_usd: e.costUsd,
    requests: 1,
    tool_calls: 0,
    compute_hours: 0,
  };
}

/** One hard limit that applies to the call: a policy with a blocking action, for one of the call's entities. */
export interface LimitCheck {
  policy: string;
  /** The policy's action at its hard limit: `revoke` refuses the call, `throttle` answers "throttle". */
  action: 'revoke' | 'throttle';
  entity: EntityRef;
  limits: Limits;
  /** Usage in the current period: the detector's last evaluation plus what was stored since. */
  used: Amounts;
  /** Held by active reservations against this policy and entity. */
  reserved: Amounts;
  /** When the period ends (calendar and billing periods); undefined for rolling windows. */
  resetsAt: number | undefined;
}

export interface AdmissionRefusal {
  decision: 'deny' | 'throttle';
  policy: string;
  entity: EntityRef;
  dimension: Dimension;
  /** What the call may need and what is left after usage and other reservations. */
  needed: number;
  available: number;
  resetsAt: number | undefined;
  reason: string;
}

export type AdmissionDecision = { decision: 'allow'; remaining: Amounts } | AdmissionRefusal;

const show = (d: Dimension, v: number): string => (d === 'cost_usd' ? `$${v.toFixed(4)}` : String(Math.round(v * 100) / 100));

/**
 * Whether a call fits every hard limit that applies to it, counting what active reservations already hold. A call
 * fits a limit when its worst case is at most what is left (so used + reserved + worst case never passes the
 * limit); a limit already used up refuses every call, also one that needs none of that dimension. When it fits,
 * `remaining` is the smallest amount left per dimension once this call's worst case is reserved too. Pure.
 */
export function decideAdmission(checks: readonly LimitCheck[], need: Amounts): AdmissionDecision {
  const remaining: Amounts = {};
  let refusal: AdmissionRefusal | undefined;
  for (const c of checks) {
    for (const [d, limit] of Object.entries(c.limits) as [Dimension, number | undefined][]) {
      if (limit === undefined || limit <= 0) continue;
      const available = limit - (c.used[d] ?? 0) - (c.reserved[d] ?? 0);
      const needed = need[d] ?? 0;
      if (needed > available || available <= 0) {
        // A revoking policy outranks a throttling one: the strongest answer is given.
        if (!refusal || (refusal.decision === 'throttle' && c.action === 'revoke')) {
          const decision = c.action === 'revoke' ? 'deny' : 'throttle';
          const reason = `${c.entity.kind} ${c.entity.id}: this call may use ${show(d, needed)} ${d} but ${show(d, Math.max(0, available))} of ${show(d, limit)} is left under policy ${c.policy}`;
          refusal = { decision, policy: c.policy, entity: c.entity, dimension: d, needed, available: Math.max(0, available), resetsAt: c.resetsAt, reason };
        }
        continue;
      }
      const left = available - needed;
      const seen = remaining[d];
      if (seen === undefined || left < seen) remaining[d] = left;
    }
  }
  return refusal ?? { decision: 'allow', remaining };
}
