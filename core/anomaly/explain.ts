import type { Basis } from './frame.ts';
import type { Metric, Pattern } from './types.ts';

function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 10 || Number.isInteger(v) ? `${Math.round(v)}` : v.toFixed(1);
}

function money(v: number): string {
  return Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(2) : v.toPrecision(2);
}

/** "$38.10", "1.2M tokens", "240 requests", "56 tool calls". */
export function formatAmount(metric: Metric, v: number): string {
  switch (metric) {
    case 'cost_usd':
      return `$${money(v)}`;
    case 'tokens':
      return `${compact(v)} tokens`;
    case 'requests':
      return `${compact(v)} requests`;
    case 'tool_calls':
      return `${compact(v)} tool calls`;
  }
}

/** The ± part: same scale as the amount, without its unit ("0.12", "3.4k"). */
export function formatSpread(metric: Metric, v: number): string {
  return metric === 'cost_usd' ? money(v) : compact(v);
}

/** "45 s", "5 min", "1 h 20 min", "3 h". */
export function formatDuration(minutes: number): string {
  if (minutes < 1) return `${Math.max(1, Math.round(minutes * 60))} s`;
  const total = Math.round(minutes);
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

const VERB: Record<Metric, string> = { cost_usd: 'spent', tokens: 'used', requests: 'made', tool_calls: 'made' };

export interface ExplainInput {
  pattern: Pattern;
  kind: string;
  id: string;
  metric: Metric;
  observed: number;
  expected: number;
  spread: number;
  minutes: number;
  basis: Basis;
  cv?: number;
}

/** One human sentence, e.g. "api_key k-42 spent $38.10 in 5 min; its usual is $0.40 ± 0.12". */
export function explain(e: ExplainInput): string {
  const head = `${e.kind} ${e.id} ${VERB[e.metric]} ${formatAmount(e.metric, e.observed)} in ${formatDuration(e.minutes)}`;
  const usual =
    e.basis === 'own' ? 'its usual is' : e.basis === 'peers' ? `it has little history; a busy ${e.kind}'s usual is` : 'it has no history; the alert floor is';
  // No history, no peers and no floor of this metric: there is no number to compare with.
  const tail =
    e.basis === 'cold' && e.expected <= 0 ? `it has no history and no ${e.kind} with history to compare with` : `${usual} ${formatAmount(e.metric, e.expected)} ± ${formatSpread(e.metric, e.spread)}`;
  const ratio = e.expected > 0 ? `${(e.observed / e.expected).toFixed(1)}×` : 'far above normal';
  switch (e.pattern) {
    case 'burst':
      return `${head}; ${tail}`;
    case 'runaway_loop': {
      const rate = e.minutes > 0 ? (e.observed / e.minutes).toFixed(1) : '0';
      return `${head} at a steady ${rate}/min (CV ${(e.cv ?? 0).toFixed(2)}), like a loop; ${tail}`;
    }
    case 'slow_drip':
      return `${head}, a persistent ${ratio} excess; ${tail}`;
    case 'tenant_spike':
      return `${head} while none of its api_keys stood out on its own; ${tail}`;
  }
}
