import type { Fifo } from './fifo.ts';
import { INHERITABLE, type InheritableIdentity } from './identity.ts';
import type { Unpriced } from './map-span.ts';
import type { TraceMemory } from './trace-memory.ts';
import { MAX_DEPTH, spanKey } from './dedupe-types.ts';

/* Ids a call inherits from its nearest ancestors when its own span lacks them (before the resource's). */

/** What the deduper remembers across requests that an ancestor walk reads. */
export interface AncestryMemory {
  traces: TraceMemory;
  /** Parent span id by span key, for spans that are not events. */
  parents: Fifo<string>;
  /** Ids of spans that hand them down without being events (app, workflow, agent spans). */
  identities: Fifo<InheritableIdentity>;
}

/** Ids missing on `e` found on its nearest ancestors: this request's events, remembered events, then id-only spans. */
export function inheritedIds(e: Unpriced, inBatch: Map<string, Unpriced>, memory: AncestryMemory): Partial<InheritableIdentity> | undefined {
  let want = e.meta.weakIdentity;
  let parent = e.parentSpanId;
  if (!parent || !want) return undefined;
  let out: Partial<InheritableIdentity> | undefined;
  const known = memory.traces.get(e.traceId);
  const single = known ? undefined : memory.traces.single(e.traceId);
  for (let depth = 0; parent && depth < MAX_DEPTH && want; depth++) {
    const k = spanKey(e.traceId, parent);
    const above = inBatch.get(k) ?? known?.nodes.get(parent) ?? (single?.spanId === parent ? single : undefined);
    const ids = above ? strongIdentity(above) : memory.identities.get(k);
    if (ids) {
      for (let b = 0; b < INHERITABLE.length; b++) {
        const kind = INHERITABLE[b]!;
        if (want & (1 << b) && ids[kind]) {
          (out ??= {})[kind] = ids[kind];
          want &= ~(1 << b);
        }
      }
    }
    parent = above ? above.parentSpanId : (memory.parents.get(k) ?? '');
  }
  return out;
}

/** The ids `e` carries on its own span (not from the resource), which it passes down to its descendants. */
export function strongIdentity(e: Unpriced): InheritableIdentity | undefined {
  let any = false;
  const out: InheritableIdentity = { apiKey: '', user: '', tenant: '', agent: '', conversation: '' };
  for (let b = 0; b < INHERITABLE.length; b++) {
    const kind = INHERITABLE[b]!;
    if (!(e.meta.weakIdentity & (1 << b)) && e[kind]) {
      out[kind] = e[kind];
      any = true;
    }
  }
  return any ? out : undefined;
}

/** Bits of identity kinds (in the mapping's KINDS order: api_key, user, tenant, agent, conversation) that `e` now has. */
export function presentBits(e: Unpriced): number {
  let bits = 0;
  for (let b = 0; b < INHERITABLE.length; b++) if (e[INHERITABLE[b]!]) bits |= 1 << b;
  return bits | (e.service ? 1 << 5 : 0);
}
