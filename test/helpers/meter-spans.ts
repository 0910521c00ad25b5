import { pino } from 'pino';
import { createIngest } from '../../collector/ingest.ts';
import { createPricer } from '../../core/pricing/pricer.ts';
import { DEFAULT_IDENTITY, type IdentityConfig } from '../../core/usage/identity.ts';
import type { MappingConfig } from '../../core/usage/map-span.ts';
import type { DecodedSpan, UsageEvent } from '../../core/usage/types.ts';

// The collector's own ingest (mapSpan → call dedupe → pricing) with the default config and a writer that keeps the
// rows: what the instrumentation fixtures and the one-call tests meter spans with.
const identity: IdentityConfig = { lists: DEFAULT_IDENTITY, secretAttributes: [], required: [], keep: [], hash: (v) => `h(${v})` };
const mapping: MappingConfig = { identity, computeOperations: [], maxAgeMs: 35 * 86_400_000, maxFutureMs: 300_000 };
const pricer = createPricer({ overrides: [], fallback: null });

/** Runs ingest over the requests in order, with `now` just after the last span ended; rejections are reported, not thrown. */
export async function meterSpans(requests: readonly (readonly DecodedSpan[])[]) {
  let lastEnd = 0n;
  for (const s of requests.flat()) if (s.endTimeUnixNano > lastEnd) lastEnd = s.endTimeUnixNano;
  const now = Number(lastEnd / 1_000_000n) + 1000;
  const written: UsageEvent[] = [];
  const ingest = createIngest({
    mapping,
    pricer,
    writer: { submit: (events) => (written.push(...events), Promise.resolve({ ok: true as const })) },
    logger: pino({ level: 'silent' }),
    now: () => now,
  });
  const errors: string[] = [];
  for (const spans of requests) {
    const r = await ingest.ingest([...spans]);
    if (r.rejected) errors.push(`${r.rejected} rejected: ${r.firstError}`);
  }
  return { written, errors, counters: ingest.counters };
}
