import { asString } from './attributes.ts';
import { METADATA_PREFIXES } from './families.ts';
import type { IdentityConfig, InheritableKind, Kind } from './identity-config.ts';
import type { Attributes, AttrValue } from './types.ts';

// An identity config compiled once into a map from attribute key (direct names, and their variants under every
// metadata prefix) to the kinds it feeds, so a span's identity costs one pass over its keys.

export const KINDS: readonly { kind: Kind; field: InheritableKind | 'service' }[] = [
  { kind: 'api_key', field: 'apiKey' },
  { kind: 'user', field: 'user' },
  { kind: 'tenant', field: 'tenant' },
  { kind: 'agent', field: 'agent' },
  { kind: 'conversation', field: 'conversation' },
  { kind: 'service', field: 'service' },
];
export const SERVICE = 5;
const BAG_RANK_BASE = 1_000_000;
/** OpenInference metadata JSON larger than this is not parsed (ids sit in small objects; payload dumps do not belong here). */
const MAX_BAG_CHARS = 8192;

interface Hit {
  kind: number;
  rank: number;
  name: string;
}

/** One identity config compiled to a single map from attribute key to the kinds it feeds: one pass over a span's keys. */
export interface Plan {
  byKey: Map<string, Hit[]>;
  /** Keys looked up inside the OpenInference `metadata` JSON object. */
  bagKeys: { key: string; hit: Hit }[];
  secret: ReadonlySet<string>;
  required: number;
  resourceCache: WeakMap<Attributes, Found>;
}

/** Best value found per kind (index as KINDS), with its rank and configured name. */
export type Found = { value: string; rank: number; name: string }[];

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

export function planOf(config: IdentityConfig): Plan {
  let plan = plans.get(config);
  if (!plan) {
    plan = compile(config);
    plans.set(config, plan);
  }
  return plan;
}

/** Scans `attrs` once; `bag` adds the OpenInference `metadata` JSON object when nothing better was found. */
export function scan(plan: Plan, attrs: Attributes, withBag: boolean): Found | undefined {
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
  // The JSON is parsed only while some kind is still missing (OpenInference puts api_key/tenant ids there).
  if (withBag && typeof attrs.metadata === 'string' && !(found && isComplete(found))) {
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

export function metadataBag(raw: string): Record<string, AttrValue> | undefined {
  if (raw.length > MAX_BAG_CHARS || raw.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, AttrValue>) : undefined;
  } catch {
    return undefined;
  }
}

export function resourceFound(plan: Plan, resource: Attributes): Found {
  let found = plan.resourceCache.get(resource);
  if (!found) {
    found = scan(plan, resource, false) ?? [];
    plan.resourceCache.set(resource, found);
  }
  return found;
}

function isComplete(found: Found): boolean {
  for (let k = 0; k < KINDS.length; k++) if (found[k] === undefined) return false;
  return true;
}

const keepVariants = new Map<string, string[]>();

/** The value of a kept attribute: span, then resource, under its name, its metadata-prefixed variants, then the metadata JSON. */
export function keptValue(attrs: Attributes, resource: Attributes, name: string): string {
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
