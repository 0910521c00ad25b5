// Model and usage attribute names come from spans: a sender inventing one per span must not grow the collector's
// counters or its log without bound, while every event is still stored and counted.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MAX_LABELS, MAX_LABEL_LENGTH, MAX_SENDER_LABELS, OTHER_LABEL } from '../../collector/capped-counts.ts';
import { createIngest } from '../../collector/ingest.ts';
import { createPricer } from '../../core/pricing/pricer.ts';
import { isWellFormedText } from '../../core/well-formed.ts';
import type { DecodedSpan, UsageEvent } from '../../core/usage/types.ts';
import { TEST_MAPPING, span } from '../helpers/spans.ts';

const END_MS = Date.UTC(2026, 10, 25, 12, 0, 0);
const BATCH = 1000;

function rig() {
  const logged: { level: number; msg: string; model?: string }[] = [];
  const stored: UsageEvent[] = [];
  const ingest = createIngest({
    mapping: TEST_MAPPING,
    pricer: createPricer({ overrides: [], fallback: null }),
    writer: { submit: (events) => (stored.push(...events), Promise.resolve({ ok: true as const })) },
    logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) }),
    now: () => END_MS + 1000,
  });
  return { ingest, logged, stored };
}

async function send(ingest: ReturnType<typeof rig>['ingest'], spans: DecodedSpan[]): Promise<void> {
  for (let i = 0; i < spans.length; i += BATCH) {
    const r = await ingest.ingest(spans.slice(i, i + BATCH));
    expect(r.rejected, r.firstError).toBe(0);
  }
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const chat = (attributes: Record<string, string | number>) => span({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'made-up', 'api_key.id': 'k-1', ...attributes }, { endMs: END_MS });

describe('counters labelled by sender text', () => {
  it('holds at most 100 unpriced model names and logs as many, while every event is stored and counted', async () => {
    const { ingest, logged, stored } = rig();
    const models = 10_000;
    // Every name twice (the second time as an already held or an overflowing name), and one of 1 MB.
    const names = [...Array.from({ length: models }, (_, i) => `m-${i}`), 'x'.repeat(1 << 20)];
    const spans = [...names, ...names].map((model) => chat({ 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 }));
    await send(ingest, spans);

    expect(stored).toHaveLength(spans.length);
    expect(stored.every((e) => e.costSource === 'unpriced')).toBe(true);
    // Stored events keep their own model, the long one whole.
    expect(new Set(stored.map((e) => e.model)).size).toBe(names.length);
    const byModel = ingest.counters.unpricedByModel;
    expect(Object.keys(byModel)).toHaveLength(MAX_SENDER_LABELS + 1);
    expect(Object.keys(byModel).slice(0, 3)).toEqual(['made-up/m-0', 'made-up/m-1', 'made-up/m-2']);
    expect(byModel['made-up/m-0']).toBe(2);
    expect(sum(byModel)).toBe(spans.length);
    expect(byModel[OTHER_LABEL]).toBe(spans.length - 2 * MAX_SENDER_LABELS);

    const perModel = logged.filter((l) => l.msg.startsWith('cannot price model'));
    expect(perModel).toHaveLength(MAX_SENDER_LABELS);
    expect(perModel.map((l) => l.model)).toEqual(Array.from({ length: MAX_SENDER_LABELS }, (_, i) => `m-${i}`));
    const overflow = logged.filter((l) => l.msg.includes('no longer logged one by one'));
    expect(overflow).toHaveLength(1);
    expect(overflow[0]!.msg).toContain(`more than ${MAX_SENDER_LABELS} unpriced model names`);
    expect(logged).toHaveLength(MAX_SENDER_LABELS + 1);
  });

  it('cuts a long model name to its first 256 characters in the counter and the log', async () => {
    const { ingest, logged } = rig();
    const long = 'y'.repeat(10_000);
    await send(ingest, [chat({ 'gen_ai.request.model': long, 'gen_ai.usage.input_tokens': 10 })]);
    expect(Object.keys(ingest.counters.unpricedByModel)).toEqual([`made-up/${long}`.slice(0, MAX_LABEL_LENGTH)]);
    expect(logged[0]!.model).toBe(long.slice(0, MAX_LABEL_LENGTH));
  });

  it('never cuts a long model name between the halves of an emoji', async () => {
    const { ingest } = rig();
    // 'made-up/' is 8 characters: the 256th falls on the first half of an emoji.
    const model = `${'z'.repeat(MAX_LABEL_LENGTH - 9)}😀${'z'.repeat(10)}`;
    await send(ingest, [chat({ 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': 10 })]);
    const [label] = Object.keys(ingest.counters.unpricedByModel);
    expect(label).toBe(`made-up/${'z'.repeat(MAX_LABEL_LENGTH - 9)}`);
    expect(isWellFormedText(label!)).toBe(true);
  });

  it('holds at most 1000 unknown usage attribute names and logs as many', async () => {
    const { ingest, logged, stored } = rig();
    const names = 2 * MAX_LABELS + 500;
    const spans = Array.from({ length: names }, (_, i) => chat({ 'gen_ai.request.model': 'gpt-4o', [`gen_ai.usage.made_up_${i}`]: 3 }));
    await send(ingest, spans);

    expect(stored).toHaveLength(names);
    const held = ingest.counters.unrecognizedUsage;
    expect(Object.keys(held)).toHaveLength(MAX_LABELS + 1);
    expect(sum(held)).toBe(names);
    expect(held[OTHER_LABEL]).toBe(names - MAX_LABELS);
    expect(logged.filter((l) => l.msg.startsWith('usage attribute with no known meaning'))).toHaveLength(MAX_LABELS);
    expect(logged.filter((l) => l.msg.includes('no longer logged one by one'))).toHaveLength(1);
    expect(logged).toHaveLength(MAX_LABELS + 1);
  });
});
