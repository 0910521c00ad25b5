import { INHERITABLE, type IdentityConfig, type Identity, type InheritableIdentity } from './identity-config.ts';
import { KINDS, SERVICE, keptValue, planOf, resourceFound, scan } from './identity-plan.ts';
import type { Attributes } from './types.ts';

export { DEFAULT_IDENTITY, INHERITABLE, type Identity, type IdentityConfig, type InheritableIdentity, type InheritableKind, type Kind } from './identity-config.ts';

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
