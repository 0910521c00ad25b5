import { asString } from './attributes.ts';
import { METADATA_PREFIXES } from './families.ts';
import type { Attributes, AttrValue } from './types.ts';

type Kind = 'api_key' | 'user' | 'tenant' | 'agent' | 'conversation' | 'service';

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

const KINDS: readonly { kind: Kind; field: InheritableKind | 'service' }[] = [
  { kind: 'api_key', field: 'apiKey' },
  { kind: 'user', field: 'user' },
  { kind: 'tenant', field: 'tenant' },
  { kind: 'agent', field: 'agent' },
  { kind: 'conversation', field: 'conversation' },
  { kind: 'service', field: 'service' },
];
const SERVICE = 5;
const BAG_RANK_BASE = 1_000_000;
/** OpenInference metadata JSON larger than this is not parsed (ids sit in small objects; payload dumps do not belong here). */
const MAX_BAG_CHARS = 8192;

interface Hit {
  kind: number;
  rank: number;
  name: string;
}

/** One identity config compiled to a single map from attribute key to the kinds it feeds: one pass over a span's keys. */
interface Plan {
  byKey: Map<string, Hit[]>;
  /** Keys looked up inside the OpenInference `metadata` JSON object. */
  bagKeys: { key: string; hit: Hit }[];
  secret: ReadonlySet<string>;
  required: number;
  resourceCache: WeakMap<Attributes, Found>;
}

/** Best value found per kind (index as KINDS), with its rank and configured name. */
type Found = { value: string; rank: number; name: string }[];

/** Names a user may give the same attribute inside a family's metadata bag: api_key.id, api_key_id, apiKeyId. */
export function variants(name: string): string[] {
  const snake = name.replace(/\./g, '_');
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const short = name.startsWith('tollkeeper.') ? [name.slice('tollkeeper.'.length)] : [];
  return [...new Set([name, snake, camel, ...short])];
}

const plans = new WeakMap<IdentityConfig, Plan>();

function compile(config: IdentityConfig): Plan {
  const byKey = new Map<string, Hit[]>();
  const add = (key: string, hit: Hit) => {
    const list = byKey.get(key);
    if (!list) byKey.set(key, [hit]);
    else if (!list.some((h) => h.kind === hit.kind && h.rank <= hit.rank)) list.push(hit);
  };
  const bagKeys: Plan['bagKeys'] = [];
  KINDS.forEach(({ kind }, k) => {
    const names = config.lists[kind];
    names.forEach((name, i) => add(name, { kind: k, rank: i, name }));
    names.forEach((name, i) => {
      variants(name).forEach((v, j) => {
        METADATA_PREFIXES.forEach((prefix, p) => add(prefix + v, { kind: k, rank: 1000 + i * 1000 + j * 10 + p, name }));
        bagKeys.push({ key: v, hit: { kind: k, rank: BAG_RANK_BASE + i * 100 + j, name } });
      });
    });
  });
  let required = 0;
  for (const r of config.required) required |= 1 << KINDS.findIndex((k) => k.kind === r);
  return { byKey, bagKeys, secret: new Set(config.secretAttributes), required, resourceCache: new WeakMap() };
}

function planOf(config: IdentityConfig): Plan {
  let plan = plans.get(config);
  if (!plan) {
    plan = compile(config);
    plans.set(config, plan);
  }
  return plan;
}

/** Scans `attrs` once; `bag` adds the OpenInference `metadata` JSON object when nothing better was found. */
function scan(plan: Plan, attrs: Attributes, withBag: boolean): Found | undefined {
  let found: Found | undefined;
  for (const key in attrs) {
    const hits = plan.byKey.get(key);
    if (hits === undefined) continue;
    const value = asString(attrs[key]);
    if (value === '') continue;
    found ??= [];
    for (const h of hits) {
      const best = found[h.kind];
      if (best === undefined || h.rank < best.rank) found[h.kind] = { value, rank: h.rank, name: h.name };
    }
  }
  if (withBag && typeof attrs.metadata === 'string') {
    const bag = metadataBag(attrs.metadata);
    if (bag) {
      for (const { key, hit } of plan.bagKeys) {
        const value = asString(bag[key]);
        if (value === '') continue;
        found ??= [];
        const best = found[hit.kind];
        if (best === undefined || hit.rank < best.rank) found[hit.kind] = { value, rank: hit.rank, name: hit.name };
      }
    }
  }
  return found;
}

function metadataBag(raw: string): Record<string, AttrValue> | undefined {
  if (raw.length > MAX_BAG_CHARS || raw.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, AttrValue>) : undefined;
  } catch {
    return undefined;
  }
}

function resourceFound(plan: Plan, resource: Attributes): Found {
  let found = plan.resourceCache.get(resource);
  if (!found) {
    found = scan(plan, resource, false) ?? [];
    plan.resourceCache.set(resource, found);
  }
  return found;
}

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
