import { calcPrice } from '@pydantic/genai-prices';
import { toGenaiProviderId } from './provider-ids.ts';
import { compileSchedule, entryAt, type PriceSchedule } from './price-schedule.ts';
import type { RateCard } from './rate-card.ts';

/** Version of the bundled `@pydantic/genai-prices` (its package.json is not exported; a unit test keeps this in sync). */
export const GENAI_PRICES_VERSION = '0.1.8';
export const PRICE_DB_VERSION = `genai-prices@${GENAI_PRICES_VERSION}`;

export interface DbPrice {
  readonly card: RateCard;
  /** `genai-prices@0.1.8:<provider>/<model>[@<start_date> | @<time-of-day window>]`. */
  readonly version: string;
}

export interface PriceDb {
  /** The bundled price in force at `time` for a span's provider and model, if genai-prices knows it. */
  lookup(provider: string, model: string, time: number): DbPrice | undefined;
}

const NO_USAGE = { input_tokens: 0, output_tokens: 0 };
const EPOCH = new Date(0);

/**
 * (providerId, model) pairs to try, most specific first: as given; the part after the last `/`
 * (`openai/gpt-4o`, `models/gemini-2.5-flash`, Bedrock ARNs) with the prefix as provider hint;
 * then the model alone across providers (an OpenAI-compatible client calling Claude); and for
 * `vendor/model` ids finally OpenRouter, whose catalogue uses that form.
 */
function candidates(provider: string, model: string): [string | undefined, string][] {
  const pid = toGenaiProviderId(provider);
  const slash = model.lastIndexOf('/');
  const tail = slash >= 0 ? model.slice(slash + 1) : '';
  const out: [string | undefined, string][] = [[pid, model]];
  if (tail !== '') out.push([pid ?? toGenaiProviderId(model.slice(0, model.indexOf('/'))), tail]);
  if (pid !== undefined) out.push([undefined, model]);
  if (pid !== undefined && tail !== '') out.push([undefined, tail]);
  if (tail !== '' && pid !== 'openrouter') out.push(['openrouter', model]);
  return out;
}

/** Which genai-prices model a span's provider/model means; time-independent, so memoized per pair. */
function resolve(provider: string, model: string): PriceSchedule | null {
  const name = model.trim();
  if (name === '') return null;
  for (const [providerId, modelId] of candidates(provider, name)) {
    try {
      const hit = calcPrice(NO_USAGE, modelId, providerId === undefined ? { timestamp: EPOCH } : { providerId, timestamp: EPOCH });
      if (hit) return compileSchedule(`${PRICE_DB_VERSION}:${hit.provider.id}/${hit.model.id}`, hit.model);
    } catch {
      // A malformed entry in the bundled data must not break pricing: try the next candidate.
    }
  }
  return null;
}

/**
 * Price lookups against the bundled database. Model resolution (the slow part: a linear scan with
 * regexes inside genai-prices) is memoized per (provider, model); the price in force is then
 * picked per event from the precompiled schedule, which also keeps time-of-day prices exact.
 * The memo is cleared when it reaches `maxEntries`, bounding memory under junk model names.
 */
export function createPriceDb(maxEntries = 10_000): PriceDb {
  const memo = new Map<string, PriceSchedule | null>();
  return {
    lookup(provider, model, time) {
      const key = `${provider}\u0000${model}`;
      let schedule = memo.get(key);
      if (schedule === undefined) {
        if (memo.size >= maxEntries) memo.clear();
        schedule = resolve(provider, model);
        memo.set(key, schedule);
      }
      return schedule === null ? undefined : (entryAt(schedule, time)?.price ?? undefined);
    },
  };
}
