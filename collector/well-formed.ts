import type { UsageEvent } from '../core/usage/types.ts';
import { isWellFormedText as isWellFormed, wellFormedText as fixText } from '../core/well-formed.ts';

// ClickHouse refuses a JSON row holding a lone UTF-16 surrogate, which OTLP/JSON can carry ("\ud800"); replace it
// as any UTF-8 encoder would, so one odd string cannot stall the batch it travels in.

/** The event with lone surrogates replaced by U+FFFD in every string (the same object when there are none). */
export function wellFormed(e: UsageEvent): UsageEvent {
  let odd = false;
  for (const k in e) {
    const v = e[k as keyof UsageEvent];
    if (typeof v === 'string' && !isWellFormed(v)) odd = true;
  }
  for (const k in e.attributes) if (!isWellFormed(k) || !isWellFormed(e.attributes[k]!)) odd = true;
  if (!odd) return e;
  const out: Record<string, unknown> = { ...e };
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string') out[k] = fixText(v);
  out.attributes = Object.fromEntries(Object.entries(e.attributes).map(([k, v]) => [fixText(k), fixText(v)]));
  return out as unknown as UsageEvent;
}
