// Shapes of the API answers the pages read (the server's response schemas are the source of truth).

export interface Totals {
  cost_usd: number;
  tokens: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  requests: number;
  tool_calls: number;
  unpriced_requests: number;
}
export interface Summary {
  generated_at: string;
  last_hour: Totals;
  usual_hour: (Totals & { days: number }) | null;
  cost_ratio: number | null;
  last_24h: Totals;
}
export interface Series {
  step_seconds: number;
  points: (Totals & { t: string })[];
}
export interface Top {
  kind: string;
  entities: (Totals & { id: string; tenant: string })[];
}
export interface Incident {
  id: string;
  entity: { kind: string; id: string };
  tenant: string | null;
  pattern: string;
  severity: 'warning' | 'critical';
  status: 'open' | 'resolved';
  score: number;
  metric: string;
  observed: number;
  expected: number;
  started_at: string | null;
  detected_at: string | null;
  resolved_at: string | null;
  explanation: string;
  action: string;
  shadow: boolean;
  /** USD from onset to enforcement (so far, while it only warns); null on incidents stored before it was recorded. */
  spend_usd: number | null;
  usual_hourly_usd: number | null;
  projected_hourly_usd: number | null;
  enforced_at: string | null;
}
export interface Entry {
  kind: string;
  id: string;
  action: 'revoke' | 'throttle';
  limit?: { requests_per_minute?: number; tokens_per_minute?: number };
  reason: string;
  source: string;
  ref?: string;
  created_at: string;
  expires_at?: string;
}
export interface Revocations {
  version: number;
  entries: Entry[];
}
export interface Unpriced {
  total_requests: number;
  models: { provider: string; model: string; requests: number; events: number; last_seen: string }[];
}
export interface QuotaPolicyStatus {
  policy: string;
  period: { start: string; end: string };
  state: 'ok' | 'warning' | 'exceeded';
  utilization: number;
  dimensions: Record<string, { used: number; limit: number; utilization: number; remaining: number }>;
  projected_exhaustion_at: string | null;
  unpriced_requests: number;
}
export interface EnforcementView {
  current: Entry | null;
  history: { at: string; action: string; source: string; reason: string; actor: string }[];
}
export interface PolicyView {
  name: string;
  source: 'config' | 'api';
  version: number;
  updated_at: string | null;
  policy: PolicyInput;
}
export interface PolicyInput {
  name: string;
  scope: string;
  match?: Record<string, string>;
  period?: unknown;
  limits: Record<string, number>;
  thresholds?: number[];
  action?: unknown;
}
export interface ReplayResult {
  ticks: number;
  policies: string[];
  findings: { at: string; source: string; what: string; entity: string; level: string; action: string; detail: string }[];
}
