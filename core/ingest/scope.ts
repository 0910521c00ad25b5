/**
 * What an ingest token may report usage for. Each list that is present limits one identity kind to its values; a
 * token with no list reports for anyone (the single `auth.otlp_token` is such a token).
 */
export interface IngestScope {
  tenants?: readonly string[];
  apiKeys?: readonly string[];
  services?: readonly string[];
}

/** A scope ready for the hot path: sets instead of lists, and its description for messages. */
export interface CompiledScope {
  readonly tenants: ReadonlySet<string> | null;
  readonly apiKeys: ReadonlySet<string> | null;
  readonly services: ReadonlySet<string> | null;
}

/** Why a span was refused for its token, also the counter label (`spans_rejected`). */
export type ScopeReason = 'out_of_scope_tenant' | 'out_of_scope_api_key' | 'out_of_scope_service';

/** The ids of one usage event, as stored (a secret-bearing value is its keyed hash). */
export interface ScopedIds {
  tenant: string;
  apiKey: string;
  service: string;
}

const setOf = (values: readonly string[] | undefined): ReadonlySet<string> | null => (values === undefined ? null : new Set(values));

/** The scope's sets; null when no list limits anything (an unscoped token needs no check at all). */
export function compileScope(scope: IngestScope): CompiledScope | null {
  if (scope.tenants === undefined && scope.apiKeys === undefined && scope.services === undefined) return null;
  return { tenants: setOf(scope.tenants), apiKeys: setOf(scope.apiKeys), services: setOf(scope.services) };
}

/**
 * Whether a token with this scope may report an event with these ids: null when it may, else the first kind that is
 * outside. An id the event lacks is outside too: a token limited to tenant `a` must not report usage without a
 * tenant, or leaving the tenant out would let it charge any key of any tenant.
 */
export function scopeVerdict(scope: CompiledScope, ids: ScopedIds): ScopeReason | null {
  if (scope.tenants && !scope.tenants.has(ids.tenant)) return 'out_of_scope_tenant';
  if (scope.apiKeys && !scope.apiKeys.has(ids.apiKey)) return 'out_of_scope_api_key';
  if (scope.services && !scope.services.has(ids.service)) return 'out_of_scope_service';
  return null;
}

const KIND_OF: Record<ScopeReason, { kind: string; field: keyof ScopedIds; list: keyof CompiledScope }> = {
  out_of_scope_tenant: { kind: 'tenant', field: 'tenant', list: 'tenants' },
  out_of_scope_api_key: { kind: 'api_key', field: 'apiKey', list: 'apiKeys' },
  out_of_scope_service: { kind: 'service', field: 'service', list: 'services' },
};

/** The partial-success message for a refused span: which span, which id, which token and what it may report for. */
export function scopeMessage(spanId: string, token: string, reason: ScopeReason, ids: ScopedIds, scope: CompiledScope): string {
  const k = KIND_OF[reason];
  const value = ids[k.field];
  const allowed = [...(scope[k.list] ?? [])].slice(0, 5).map((v) => JSON.stringify(v));
  const more = (scope[k.list]?.size ?? 0) > 5 ? ', …' : '';
  return `span ${spanId}: ${k.kind} ${value === '' ? '(none)' : JSON.stringify(value)} is outside the scope of ingest token "${token}" (${k.kind} must be one of ${allowed.join(', ')}${more})`;
}
