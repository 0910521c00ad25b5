import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice, findProvider, type ModelInfo } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { createPricer, GENAI_PRICES_VERSION, toGenaiProviderId, type PriceInput, type PriceOverride } from '../../core/pricing/index.ts';
import { compileSchedule, entryAt } from '../../core/pricing/price-schedule.ts';
import { costOf } from '../../core/pricing/rate-card.ts';
import { normalizeTokens } from '../../core/pricing/tokens.ts';

const DB = `genai-prices@${GENAI_PRICES_VERSION}`;
const JUNE = Date.parse('2026-06-01T12:00:00Z');

function event(provider: string, model: string, over: Partial<PriceInput> = {}): PriceInput {
  return { provider, model, time: JUNE, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, spanCost: null, ...over };
}

/** 10k input of which 4k cache read, 2k output. */
const GPT4O_USAGE = { inputTokens: 10_000, cacheReadTokens: 4_000, outputTokens: 2_000 };

const dbOnly = createPricer({ overrides: [], fallback: null });

describe('bundled price database (genai-prices)', () => {
  it('prices gpt-4o input, cached input and output', () => {
    // DB: input 2.5, cache_read 1.25, output 10 $/Mtok → 6000×2.5 + 4000×1.25 + 2000×10 = 40 000 µ$ = $0.04
    const r = dbOnly.price(event('openai', 'gpt-4o', GPT4O_USAGE));
    expect(r.costSource).toBe('price_db');
    expect(r.costUsd).toBeCloseTo(0.04, 12);
    expect(r.priceVersion).toBe(`${DB}:openai/gpt-4o`);
    expect(dbOnly.priceDbVersion).toBe(DB);
  });

  it('prices Anthropic cache writes and cache reads at their own rates', () => {
    // claude-3-5-sonnet: input 3, cache_write 3.75, cache_read 0.3, output 15
    // 10k input = 2k uncached + 6k read + 2k write; 1k output
    // 2000×3 + 6000×0.3 + 2000×3.75 + 1000×15 = 6000 + 1800 + 7500 + 15000 = 30 300 µ$
    const r = dbOnly.price(event('anthropic', 'claude-3-5-sonnet-20241022', { inputTokens: 10_000, cacheReadTokens: 6_000, cacheWriteTokens: 2_000, outputTokens: 1_000 }));
    expect(r.costUsd).toBeCloseTo(0.0303, 12);
    expect(r.priceVersion).toBe(`${DB}:anthropic/claude-3-5-sonnet`);
  });

  it('prices reasoning tokens at the output rate for o3-mini', () => {
    // o3-mini: input 1.1, output 4.4, no reasoning rate → 1000×1.1 + 5000×4.4 = 23 100 µ$
    const r = dbOnly.price(event('openai', 'o3-mini', { inputTokens: 1_000, outputTokens: 5_000, reasoningTokens: 4_000 }));
    expect(r.costUsd).toBeCloseTo(0.0231, 12);
  });

  it('prices reasoning tokens at their own rate when the model has one', () => {
    // sonar-deep-research: input 2, output 8, output_reasoning 3 → 1000×2 + 1000×8 + 4000×3 = 22 000 µ$
    const r = dbOnly.price(event('perplexity', 'sonar-deep-research', { inputTokens: 1_000, outputTokens: 5_000, reasoningTokens: 4_000 }));
    expect(r.costUsd).toBeCloseTo(0.022, 12);
  });

  it('resolves dated model ids to the right entry', () => {
    // gpt-4o-2024-08-06 is priced as gpt-4o
    expect(dbOnly.price(event('openai', 'gpt-4o-2024-08-06', GPT4O_USAGE))).toEqual({ costUsd: expect.closeTo(0.04, 12), costSource: 'price_db', priceVersion: `${DB}:openai/gpt-4o` });
    // gpt-4o-2024-05-13 has its own entry: input 5, output 15 → 1000×5 + 100×15 = 6500 µ$
    const old = dbOnly.price(event('openai', 'gpt-4o-2024-05-13', { inputTokens: 1_000, outputTokens: 100 }));
    expect(old.costUsd).toBeCloseTo(0.0065, 12);
    expect(old.priceVersion).toBe(`${DB}:openai/gpt-4o-2024-05-13`);
    // compact date form and Anthropic dated ids
    expect(dbOnly.price(event('openai', 'gpt-4o-20240806', GPT4O_USAGE)).priceVersion).toBe(`${DB}:openai/gpt-4o`);
    expect(dbOnly.price(event('anthropic', 'claude-sonnet-4-20250514', { inputTokens: 1 })).priceVersion).toBe(`${DB}:anthropic/claude-sonnet-4-0`);
  });

  it('resolves vendor prefixes, mixed case and provider aliases', () => {
    const cases: [string, string, string][] = [
      ['openai', 'openai/gpt-4o', 'openai/gpt-4o'],
      ['', 'openai/gpt-4o', 'openai/gpt-4o'],
      ['OpenAI', 'GPT-4o', 'openai/gpt-4o'],
      ['openai.chat', 'gpt-4o', 'openai/gpt-4o'],
      ['gcp.gemini', 'models/gemini-2.5-flash', 'google/gemini-2.5-flash'],
      ['gcp.vertex_ai', 'gemini-1.5-pro', 'google/gemini-1.5-pro'],
      ['gcp.vertex_ai', 'claude-3-5-sonnet@20240620', 'google/claude-3-5-sonnet'],
      ['azure.ai.openai', 'gpt-4o-2024-08-06', 'azure/gpt-4o'],
      ['x_ai', 'grok-3', 'x-ai/grok-3'],
      ['mistral_ai', 'mistral-large-latest', 'mistral/mistral-large'],
      ['aws.bedrock', 'anthropic.claude-3-haiku-20240307-v1:0', 'aws/regional.anthropic.claude-3-haiku-20240307-v1:0'],
      ['', 'claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
      // model known only under another provider: priced by model name alone
      ['openai', 'claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
      // vendor/model ids nobody else knows: OpenRouter's catalogue
      ['', 'meta-llama/llama-3.1-8b-instruct', 'openrouter/meta-llama/llama-3.1-8b-instruct'],
    ];
    for (const [provider, model, id] of cases) expect(dbOnly.price(event(provider, model, { inputTokens: 1 })).priceVersion, `${provider} ${model}`).toBe(`${DB}:${id}`);
  });

  it('uses the price in force at the event time (dated prices)', () => {
    // o3: 10 / 40 until 2025-06-10, then 2 / 8 → 1000 in + 1000 out
    const before = dbOnly.price(event('openai', 'o3', { time: Date.parse('2025-06-09T23:59:59Z'), inputTokens: 1_000, outputTokens: 1_000 }));
    const after = dbOnly.price(event('openai', 'o3', { time: Date.parse('2025-06-10T00:00:00Z'), inputTokens: 1_000, outputTokens: 1_000 }));
    expect(before.costUsd).toBeCloseTo(0.05, 12);
    expect(before.priceVersion).toBe(`${DB}:openai/o3`);
    expect(after.costUsd).toBeCloseTo(0.01, 12);
    expect(after.priceVersion).toBe(`${DB}:openai/o3@2025-06-10`);
  });

  it('uses time-of-day prices (DeepSeek off-peak) per event, not per day', () => {
    // deepseek-chat: 0.27 / 1.1 from 00:30Z to 16:30Z, else 0.135 / 0.55 → 1M in + 1M out
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    const peak = dbOnly.price(event('deepseek', 'deepseek-chat', { ...usage, time: Date.parse('2026-06-01T12:00:00Z') }));
    const offPeak = dbOnly.price(event('deepseek', 'deepseek-chat', { ...usage, time: Date.parse('2026-06-01T20:00:00Z') }));
    expect(peak.costUsd).toBeCloseTo(1.37, 12);
    expect(peak.priceVersion).toBe(`${DB}:deepseek/deepseek-chat@00:30:00Z-16:30:00Z`);
    expect(offPeak.costUsd).toBeCloseTo(0.685, 12);
    expect(offPeak.priceVersion).toBe(`${DB}:deepseek/deepseek-chat`);
  });

  it('applies tiered prices by total input tokens (strictly above the threshold)', () => {
    // gemini-2.5-pro: input 1.25 → 2.5 and output 10 → 15 above 200k input tokens
    const at = dbOnly.price(event('google', 'gemini-2.5-pro', { inputTokens: 200_000, outputTokens: 1_000 }));
    const above = dbOnly.price(event('google', 'gemini-2.5-pro', { inputTokens: 250_000, outputTokens: 1_000 }));
    expect(at.costUsd).toBeCloseTo(0.26, 12); // 200000×1.25 + 1000×10
    expect(above.costUsd).toBeCloseTo(0.64, 12); // 250000×2.5 + 1000×15
  });

  it('adds per-request fees', () => {
    // perplexity sonar: 1 / 1 per Mtok + 12 $ per 1000 requests → 1000 + 1000 µ$ + $0.012
    expect(dbOnly.price(event('perplexity', 'sonar', { inputTokens: 1_000, outputTokens: 1_000 })).costUsd).toBeCloseTo(0.014, 12);
  });

  it('prices free models at $0 from the DB but never prices non-token models at a silent $0', () => {
    expect(dbOnly.price(event('openai', 'omni-moderation-latest', { inputTokens: 1_000 }))).toEqual({ costUsd: 0, costSource: 'price_db', priceVersion: `${DB}:openai/moderation` });
    // whisper-1 is priced per audio hour: we have no audio duration
    expect(dbOnly.price(event('openai', 'whisper-1', { inputTokens: 1_000 })).costSource).toBe('unpriced');
  });

  it('keeps GENAI_PRICES_VERSION in sync with the installed package', () => {
    const entry = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
    expect(GENAI_PRICES_VERSION).toBe(pkg.version);
  });
});

describe('precedence', () => {
  const override: PriceOverride = { provider: 'openai', model: 'gpt-4o', input_per_mtok: 2, output_per_mtok: 8, cache_read_per_mtok: 1, cache_write_per_mtok: 2.5, reasoning_per_mtok: 8, effective_from: '2026-01-01' };
  const pricer = createPricer({ overrides: [override], fallback: { input_per_mtok: 1, output_per_mtok: 2 } });

  it('an override beats the DB', () => {
    // 6000×2 + 4000×1 + 2000×8 = 32 000 µ$
    expect(pricer.price(event('openai', 'gpt-4o', GPT4O_USAGE))).toEqual({ costUsd: expect.closeTo(0.032, 12), costSource: 'override', priceVersion: 'override:openai/gpt-4o@2026-01-01' });
  });

  it('an override beats the cost on the span', () => {
    expect(pricer.price(event('openai', 'gpt-4o', { ...GPT4O_USAGE, spanCost: 0.5 })).costSource).toBe('override');
  });

  it('the span cost is used when no override is in force', () => {
    const early = Date.parse('2025-12-31T23:59:59.999Z');
    expect(pricer.price(event('openai', 'gpt-4o', { ...GPT4O_USAGE, spanCost: 0.123, time: early }))).toEqual({ costUsd: 0.123, costSource: 'span', priceVersion: 'span' });
    expect(pricer.price(event('openai', 'gpt-4o', { ...GPT4O_USAGE, time: early })).costSource).toBe('price_db');
    expect(pricer.price(event('anthropic', 'claude-3-5-sonnet', { spanCost: 0 })).costUsd).toBe(0);
  });

  it('ignores span costs that are not finite numbers ≥ 0', () => {
    for (const spanCost of [Number.NaN, -1, Number.POSITIVE_INFINITY]) expect(dbOnly.price(event('openai', 'gpt-4o', { ...GPT4O_USAGE, spanCost })).costSource).toBe('price_db');
  });

  it('an unknown model with a span cost uses the span cost', () => {
    expect(dbOnly.price(event('acme', 'secret-model-9', { inputTokens: 10, spanCost: 0.07 }))).toEqual({ costUsd: 0.07, costSource: 'span', priceVersion: 'span' });
  });

  it('an unknown model falls back to the estimated price', () => {
    // fallback 1 / 2 per Mtok, cache priced as input: 10000×1 + 2000×2 = 14 000 µ$
    expect(pricer.price(event('acme', 'secret-model-9', GPT4O_USAGE))).toEqual({ costUsd: expect.closeTo(0.014, 12), costSource: 'estimated', priceVersion: 'fallback' });
  });

  it('an unknown model without fallback is unpriced at $0', () => {
    expect(dbOnly.price(event('acme', 'secret-model-9', GPT4O_USAGE))).toEqual({ costUsd: 0, costSource: 'unpriced', priceVersion: '' });
    expect(dbOnly.price(event('', '', GPT4O_USAGE)).costSource).toBe('unpriced');
  });
});

describe('overrides', () => {
  const jan: PriceOverride = { provider: 'openai', model: 'gpt-4o', input_per_mtok: 2, output_per_mtok: 8, effective_from: '2026-01-01' };
  const mar: PriceOverride = { provider: 'openai', model: 'gpt-4o', input_per_mtok: 1, output_per_mtok: 4, effective_from: '2026-03-01T00:00:00Z' };
  const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };

  it('selects the latest override in force at the event time', () => {
    const pricer = createPricer({ overrides: [mar, jan], fallback: null });
    expect(pricer.price(event('openai', 'gpt-4o', { ...usage, time: Date.parse('2026-02-15T00:00:00Z') }))).toEqual({ costUsd: 10, costSource: 'override', priceVersion: 'override:openai/gpt-4o@2026-01-01' });
    expect(pricer.price(event('openai', 'gpt-4o', { ...usage, time: Date.parse('2026-03-01T00:00:00Z') }))).toEqual({ costUsd: 5, costSource: 'override', priceVersion: 'override:openai/gpt-4o@2026-03-01T00:00:00Z' });
    // before both: the DB (2.5 + 10)
    expect(pricer.price(event('openai', 'gpt-4o', { ...usage, time: Date.parse('2025-12-31T23:59:59Z') })).costUsd).toBeCloseTo(12.5, 9);
  });

  it('defaults cache rates to the input rate and reasoning to the output rate', () => {
    const pricer = createPricer({ overrides: [jan], fallback: null });
    // everything at 2 in / 8 out: 10000×2 + 2000×8 = 36 000 µ$
    expect(pricer.price(event('openai', 'gpt-4o', { ...GPT4O_USAGE, cacheWriteTokens: 1_000, reasoningTokens: 500 })).costUsd).toBeCloseTo(0.036, 12);
  });

  it('prices reasoning at its own override rate', () => {
    const pricer = createPricer({ overrides: [{ ...jan, reasoning_per_mtok: 20 }], fallback: null });
    // 1000 in × 2 + 1000 plain out × 8 + 4000 reasoning × 20 = 90 000 µ$
    expect(pricer.price(event('openai', 'gpt-4o', { inputTokens: 1_000, outputTokens: 5_000, reasoningTokens: 4_000 })).costUsd).toBeCloseTo(0.09, 12);
  });

  it('matches case-insensitively, through vendor prefixes and release dates', () => {
    const pricer = createPricer({ overrides: [jan], fallback: null });
    for (const [provider, model] of [['OpenAI', 'GPT-4o'], ['openai', 'openai/gpt-4o'], ['openai', 'gpt-4o-2024-08-06'], ['openai.responses', 'gpt-4o']]) {
      expect(pricer.price(event(provider!, model!, usage)).costSource, `${provider} ${model}`).toBe('override');
    }
    expect(pricer.price(event('openai', 'gpt-4o-mini', usage)).costSource).toBe('price_db');
    expect(pricer.price(event('azure.ai.openai', 'gpt-4o', usage)).costSource).toBe('price_db');
  });

  it('prefers an exact match to a stripped one and a named provider to "*"', () => {
    const pricer = createPricer({
      overrides: [
        { ...jan, provider: '*', input_per_mtok: 100, output_per_mtok: 100 },
        { ...jan, model: 'gpt-4o-2024-08-06', input_per_mtok: 3, output_per_mtok: 3 },
        { ...jan, provider: 'azure', input_per_mtok: 4, output_per_mtok: 4 },
      ],
      fallback: null,
    });
    expect(pricer.price(event('openai', 'gpt-4o', usage)).costUsd).toBe(200); // only the wildcard matches
    expect(pricer.price(event('openai', 'gpt-4o-2024-08-06', usage)).costUsd).toBe(6); // exact dated model
    expect(pricer.price(event('azure.ai.openai', 'gpt-4o', usage)).costUsd).toBe(8); // same genai-prices provider
    expect(pricer.price(event('', 'gpt-4o', usage)).costUsd).toBe(200);
  });

  it('rejects invalid rates and dates with the config path', () => {
    expect(() => createPricer({ overrides: [{ ...jan, input_per_mtok: -1 }], fallback: null })).toThrow(/pricing\.overrides\[0\]\.input_per_mtok/);
    expect(() => createPricer({ overrides: [{ ...jan, effective_from: '2026-02-30' }], fallback: null })).toThrow(/pricing\.overrides\[0\]\.effective_from/);
    expect(() => createPricer({ overrides: [{ ...jan, effective_from: 'soon' }], fallback: null })).toThrow(/effective_from/);
    expect(() => createPricer({ overrides: [], fallback: { input_per_mtok: Number.NaN, output_per_mtok: 1 } })).toThrow(/pricing\.fallback\.input_per_mtok/);
  });

  it('reads a date-time without an offset as UTC', () => {
    const pricer = createPricer({ overrides: [{ ...jan, effective_from: '2026-01-01T10:00' }], fallback: null });
    expect(pricer.price(event('openai', 'gpt-4o', { ...usage, time: Date.parse('2026-01-01T09:59:59Z') })).costSource).toBe('price_db');
    expect(pricer.price(event('openai', 'gpt-4o', { ...usage, time: Date.parse('2026-01-01T10:00:00Z') })).costSource).toBe('override');
  });
});

describe('inconsistent counts', () => {
  it('raises input to cache read + write instead of going negative', () => {
    // input 1000 but 3000 cache read: all 3000 at cache_read 1.25 → 3750 µ$
    expect(dbOnly.price(event('openai', 'gpt-4o', { inputTokens: 1_000, cacheReadTokens: 3_000 })).costUsd).toBeCloseTo(0.00375, 12);
  });

  it('raises output to reasoning and zeroes negative or NaN counts', () => {
    // reasoning 2000 > output 500: 2000 × 10 → 20 000 µ$; the rest is dropped
    const r = dbOnly.price(event('openai', 'gpt-4o', { inputTokens: -5, outputTokens: 500, reasoningTokens: 2_000, cacheReadTokens: Number.NaN, cacheWriteTokens: Number.POSITIVE_INFINITY }));
    expect(r.costUsd).toBeCloseTo(0.02, 12);
    expect(normalizeTokens(event('x', 'y', { inputTokens: Number.NaN, outputTokens: -1 }))).toEqual({ input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 });
  });

  it('rejects a non-finite event time', () => {
    expect(() => dbOnly.price(event('openai', 'gpt-4o', { time: Number.NaN }))).toThrow(RangeError);
  });
});

describe('provider ids', () => {
  it('maps span provider names to genai-prices ids', () => {
    const expected: Record<string, string | undefined> = {
      openai: 'openai', anthropic: 'anthropic', 'azure.ai.openai': 'azure', 'azure.ai.inference': 'azure', 'az.ai.openai': 'azure', 'Azure OpenAI': 'azure',
      'aws.bedrock': 'aws', 'amazon-bedrock': 'aws', 'gcp.vertex_ai': 'google', 'gcp.gemini': 'google', 'gcp.gen_ai': 'google', google: 'google',
      'google.vertex.chat': 'google', 'vertex.anthropic.messages': 'google', x_ai: 'x-ai', 'xai.chat': 'x-ai', mistral_ai: 'mistral', mistralai: 'mistral',
      deepseek: 'deepseek', groq: 'groq', 'together-ai': 'together', perplexity: 'perplexity', cohere: 'cohere', 'ibm.watsonx.ai': undefined, ollama: undefined, '': undefined,
    };
    for (const [name, id] of Object.entries(expected)) expect(toGenaiProviderId(name), name).toBe(id);
  });
});

describe('fast path agrees with genai-prices calcPrice for every bundled model', () => {
  const providerIds = ['anthropic', 'arcee', 'avian', 'aws', 'azure', 'baseten', 'cerebras', 'cloudflare', 'cohere', 'cursor', 'deepseek', 'doubleword', 'fireworks', 'github-copilot', 'google', 'groq', 'minimax', 'mistral', 'modal', 'moonshotai', 'novita', 'openai', 'openrouter', 'ovhcloud', 'perplexity', 'quicksilverpro', 'together', 'typesafe', 'voyageai', 'x-ai', 'zai', 'zhipuai'];
  for (const host of ['cerebras', 'fireworks-ai', 'groq', 'hyperbolic', 'nebius', 'novita', 'nscale', 'ovhcloud', 'publicai', 'sambanova', 'together']) providerIds.push(`huggingface_${host}`);
  const usages = [
    { inputTokens: 1_000, cacheReadTokens: 200, cacheWriteTokens: 100, outputTokens: 500, reasoningTokens: 50 },
    { inputTokens: 300_000, cacheReadTokens: 50_000, cacheWriteTokens: 20_000, outputTokens: 4_000, reasoningTokens: 1_000 },
  ];
  const times = ['2024-01-01T12:00:00Z', '2026-06-01T03:00:00Z', '2026-06-01T20:00:00Z', '2026-09-01T02:00:00Z', '2027-02-01T07:00:00Z'].map((s) => Date.parse(s));

  it('matches total_price within 1e-9 relative', () => {
    let compared = 0;
    for (const pid of providerIds) {
      const provider = findProvider({ providerId: pid });
      expect(provider, pid).toBeDefined();
      for (const model of provider!.models) {
        const probe: ModelInfo = { ...model, match: { equals: 'probe-model' } };
        const schedule = compileSchedule('v', model);
        for (const time of times) {
          const price = entryAt(schedule, time)?.price;
          if (!price) continue;
          for (const u of usages) {
            const mine = costOf(price.card, normalizeTokens(event('', '', u)));
            const usage = { input_tokens: u.inputTokens, cache_read_tokens: u.cacheReadTokens, cache_write_tokens: u.cacheWriteTokens, output_tokens: u.outputTokens, output_reasoning_tokens: u.reasoningTokens };
            const theirs = calcPrice(usage, 'probe-model', { provider: { ...provider!, models: [probe] }, timestamp: new Date(time) });
            expect(theirs, `${pid}/${model.id}`).not.toBeNull();
            expect(Math.abs(mine - theirs!.total_price), `${pid}/${model.id} @${new Date(time).toISOString()}`).toBeLessThanOrEqual(1e-9 * Math.max(1, theirs!.total_price));
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});
