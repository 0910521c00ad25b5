import type { UsageEvent } from '../core/usage/types.ts';

// ClickHouse refuses a JSON row holding a lone UTF-16 surrogate, which OTLP/JSON can carry ("\ud800"); replace it
// as any UTF-8 encoder would, so one odd string cannot stall the batch it travels in.
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SURROGATE = /[\ud800-\udfff]/; // a cheap first look: most text holds no surrogate at all
const fixText = (s: string) => (SURROGATE.test(s) ? s.replace(LONE_SURROGATES, '\ufffd') : s);

/** The event with lone surrogates replaced by U+FFFD in every string (the same object when there are none). */
export function wellFormed(e: UsageEvent): UsageEvent {
  let odd = false;
  for (const k in e) {
    const v = e[k as keyof UsageEvent];
    if (typeof v === 'string' && SURROGATE.test(v)) odd = true;
  }
  for (const k in e.attributes) if (SURROGATE.test(k) || SURROGATE.test(e.attributes[k]!)) odd = true;
  if (!odd) return e;
  const out: Record<string, unknown> = { ...e };
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string') out[k] = fixText(v);
  out.attributes = Object.fromEntries(Object.entries(e.attributes).map(([k, v]) => [fixText(k), fixText(v)]));
  return out as unknown as UsageEvent;
}
