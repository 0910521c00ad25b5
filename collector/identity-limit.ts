import type { DecodedSpan, UsageEvent } from '../core/usage/types.ts';

/**
 * Longest identity value (key id, user, tenant, agent, conversation, service, kept attribute) a usage event may
 * carry. Ids are short in practice; a multi-megabyte one is an attack on the store and on every query that groups
 * by it. The mapper keeps at most this many characters of a value, so a value of exactly this length may have been
 * cut from a longer one: that is looked up in the span (then the request, for an inherited value).
 */
export const MAX_IDENTITY_LENGTH = 256;

const FIELDS = [
  ['apiKey', 'api_key'],
  ['user', 'user'],
  ['tenant', 'tenant'],
  ['agent', 'agent'],
  ['conversation', 'conversation'],
  ['service', 'service'],
] as const;

type IdentityFields = Pick<UsageEvent, 'spanId' | 'apiKey' | 'user' | 'tenant' | 'agent' | 'conversation' | 'service' | 'attributes'>;

/** An attribute of the span or its resource holding a string longer than the limit that begins with `cut`. */
function longerSource(span: DecodedSpan, cut: string): { name: string; length: number } | undefined {
  for (const attrs of [span.attributes, span.resource]) {
    for (const name in attrs) {
      const v = attrs[name];
      if (typeof v === 'string' && v.length > MAX_IDENTITY_LENGTH && v.startsWith(cut)) return { name, length: v.length };
    }
  }
  return undefined;
}

/**
 * Why `e` cannot be stored because an identity value is too long, or null when every value fits. `ownSpan` finds
 * the event's span (asked only when a value is suspect: this runs for every event); `all` holds the spans of its
 * request (an identity inherited from an ancestor is found there).
 */
export function overlongIdentity(e: IdentityFields, ownSpan: () => DecodedSpan | undefined, all: readonly DecodedSpan[], secretAttributes: readonly string[]): string | null {
  const values: [string, string][] = [];
  for (const [field, kind] of FIELDS) if (e[field].length === MAX_IDENTITY_LENGTH) values.push([kind, e[field]]);
  for (const [name, v] of Object.entries(e.attributes)) if (v.length === MAX_IDENTITY_LENGTH) values.push([name, v]);
  const own = values.length > 0 || secretAttributes.length > 0 ? ownSpan() : undefined;
  for (const [kind, cut] of values) {
    const mine = own ? longerSource(own, cut) : undefined;
    if (mine) return message(e.spanId, kind, `of attribute ${JSON.stringify(mine.name)}`, mine.length);
    for (const span of all) {
      const theirs = longerSource(span, cut);
      if (theirs) return message(e.spanId, kind, `inherited from span ${span.spanId} (attribute ${JSON.stringify(theirs.name)})`, theirs.length);
    }
  }
  // Secret-bearing values are stored as hashes, so their length never shows on the event.
  if (own) {
    for (const name of secretAttributes) {
      for (const attrs of [own.attributes, own.resource]) {
        const v = attrs[name];
        if (typeof v === 'string' && v.length > MAX_IDENTITY_LENGTH) return message(e.spanId, 'secret', `of attribute ${JSON.stringify(name)}`, v.length);
      }
    }
  }
  return null;
}

function message(spanId: string, kind: string, source: string, length: number): string {
  return `span ${spanId}: ${kind} value ${source} is ${length} characters long; identity values may have at most ${MAX_IDENTITY_LENGTH}`;
}
