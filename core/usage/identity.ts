import { asString } from './attributes.ts';
import { METADATA_PREFIXES } from './families.ts';
import { KINDS, SERVICE, metadataBag, planOf, resourceFound, scan, variants } from './identity-plan.ts';
import type { Attributes } from './types.ts';

export type Kind = 'api_key' | 'user' | 'tenant' | 'agent' | 'conversation' | 'service';

export interface IdentityConfig {
  lists: { api_key: string[]; user: string[]; tenant: string[]; agent: string[]; conversation: string[]; service: string[] };
  secretAttributes: readonly string[];
  required: readonly Kind[];
  /** Extra attributes kept on the event for `match` selectors and custom scopes. */
  keep: readonly string[];
  /** Keyed hash for secret-bearing values (HMAC), injected so the core stays pure. */
  hash: (value: string) => string;
}

/**
 * SPEC §1 defaults, plus the names families use for the same ids: `session.id` (OpenInference) for conversation and
 * `customer.id` for tenant (Traceloop's standard association key `customer_id` is the customer account, i.e. the tenant).
 * Under metadata prefixes each name also matches its snake_case and camelCase forms (`api_key_id`, `apiKeyId`).
 */
export const DEFAULT_IDENTITY: IdentityConfig['lists'] = {
  api_key: ['tollkeeper.api_key.id', 'api_key.id'],
  user: ['user.id', 'enduser.id'],
  tenant: ['tollkeeper.tenant.id', 'tenant.id', 'customer.id'],
  agent: ['gen_ai.agent.id', 'gen_ai.agent.name'],
  conversation: ['gen_ai.conversation.id', 'session.id'],
  service: ['service.name'],
};

/** Entity ids of one span, '' when absent. */
export interface Identity {
  service: string;
  apiKey: string;
  user: string;
  tenant: string;
  agent: string;
  conversation: string;
  attributes: Record<string, string>;
}

/** The kinds a span can inherit from its ancestors (service is per process, never inherited), in bit order. */
export const INHERITABLE = ['apiKey', 'user', 'tenant', 'agent', 'conversation'] as const;
export type InheritableKind = (typeof INHERITABLE)[number];
export type InheritableIdentity = Record<InheritableKind, string>;

export interface ResolvedIdentity {
  value: Identity;
  /** Bit per INHERITABLE kind (service is bit 5) whose value did not come from the span itself: an ancestor's value may replace it. */
  weak: number;
  /** Bits of identity.required kinds still missing. */
  missingRequired: number;
}

/** Resolves the entity ids of a span: span attributes (direct names, then metadata prefixes, then the metadata JSON), then resource. */
export function resolveSpanIdentity(attrs: Attributes, resource: Attributes, config: IdentityConfig): ResolvedIdentity {
  const plan = planOf(config);
  const own = scan(plan, attrs, true);
  const res = resourceFound(plan, resource);
  const value: Identity = { service: '', apiKey: '', user: '', tenant: '', agent: '', conversation: '', attributes: {} };
  let weak = 0;
  let missing = 0;
  for (let k = 0; k < KINDS.length; k++) {
    const hit = own?.[k] ?? res[k];
    if (own?.[k] === undefined) weak |= 1 << k;
    if (hit === undefined) {
      missing |= 1 << k;
      continue;
    }
    const v = hit.value.slice(0, 256);
    value[KINDS[k]!.field] = plan.secret.has(hit.name) ? config.hash(v) : v;
  }
  if (!value.service) {
    value.service = 'unknown_service';
    missing &= ~(1 << SERVICE);
  }
  for (const name of config.keep) {
    const v = keptValue(attrs, resource, name);
    if (v) value.attributes[name] = plan.secret.has(name) ? config.hash(v) : v.slice(0, 256);
  }
  return { value, weak: weak & ~(1 << SERVICE), missingRequired: missing & plan.required };
}

/** The span-level ids an ancestor passes down, or undefined when the span carries none (cheap for the common case). */
export function ownIdentity(attrs: Attributes, config: IdentityConfig): InheritableIdentity | undefined {
  const plan = planOf(config);
  const own = scan(plan, attrs, true);
  if (!own) return undefined;
  const out: InheritableIdentity = { apiKey: '', user: '', tenant: '', agent: '', conversation: '' };
  let any = false;
  for (let k = 0; k < INHERITABLE.length; k++) {
    const hit = own[k];
    if (!hit) continue;
    const v = hit.value.slice(0, 256);
    out[INHERITABLE[k]!] = plan.secret.has(hit.name) ? config.hash(v) : v;
    any = true;
  }
  return any ? out : undefined;
}

/** The attribute keys that carry identity under this config (`metadata` aside): identity alone never makes a usage event. */
export function identityKeys(config: IdentityConfig): ReadonlyMap<string, unknown> {
  return planOf(config).byKey;
}

/** The error for a span whose required kinds in `bits` are missing (the first one is named). */
export function missingIdentityError(bits: number, config: IdentityConfig, where = 'the span or its resource'): string {
  const kind = KINDS.find((_, k) => bits & (1 << k))?.kind ?? 'api_key';
  return `no ${kind} identity on ${where} (looked for ${config.lists[kind].join(', ')}); identity.required lists it`;
}

const keepVariants = new Map<string, string[]>();

function keptValue(attrs: Attributes, resource: Attributes, name: string): string {
  let keys = keepVariants.get(name);
  if (!keys) {
    keys = variants(name).flatMap((v) => METADATA_PREFIXES.map((p) => p + v));
    if (keepVariants.size >= 1024) keepVariants.clear();
    keepVariants.set(name, keys);
  }
  for (const source of [attrs, resource]) {
    const direct = asString(source[name]);
    if (direct) return direct;
    for (const k of keys) {
      const s = asString(source[k]);
      if (s) return s;
    }
    if (source === attrs && typeof attrs.metadata === 'string') {
      const bag = metadataBag(attrs.metadata);
      for (const v of bag ? variants(name) : []) {
        const s = asString(bag?.[v]);
        if (s) return s;
      }
    }
  }
  return '';
}

/** Resolves the entity ids of a span (SPEC §1): span first, then resource; fails when identity.required lists a missing kind. */
export function resolveIdentity(attrs: Attributes, resource: Attributes, config: IdentityConfig): { ok: true; value: Identity } | { ok: false; error: string } {
  const r = resolveSpanIdentity(attrs, resource, config);
  if (r.missingRequired) return { ok: false, error: missingIdentityError(r.missingRequired, config) };
  return { ok: true, value: r.value };
}
