import type { Rng } from './fuzz-random.ts';

/** The part of JSON Schema (as the OpenAPI document carries it) the fuzz reads. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
}

/**
 * `plain`: an ordinary value that passes the schema (the base that mutations start from);
 * `extreme`: a value that still passes the schema but sits on its edges (largest and smallest numbers, longest
 * strings with odd characters, far-away dates, huge durations) — where the handlers behind a schema break.
 */
export type SampleMode = 'plain' | 'extreme';

const NOW = Date.UTC(2026, 11, 3, 12);

// Strings with a format, each a list of values that pass the format but are odd.
const FORMAT_EXTREMES: Record<string, string[]> = {
  'date-time': ['0000-01-01', '0001-01-01T00:00:00Z', '1900-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z', '2106-02-07T06:28:16Z', '2300-01-01 00:00', '2026-12-03T10:00:00.123456789+14:00'],
  date: ['0000-01-01', '0001-01-01', '1969-12-31', '9999-12-31', '2024-02-29', '2106-02-07'],
  duration: ['0ms', '1ms', '9007199254740991ms', '14000000w', '14500000w', '1w6d23h59m59s999ms', '0000001m'],
  timezone: ['Etc/GMT+12', 'Etc/GMT-14', 'Pacific/Kiritimati', 'Asia/Kathmandu', 'America/St_Johns', 'Europe/Dublin'],
  uri: ['http://127.0.0.1:9/', 'http://[::1]:9/a?b#c', 'file:///etc/passwd', 'javascript:alert(1)'],
};
const FORMAT_PLAIN: Record<string, () => string> = {
  'date-time': () => new Date(NOW).toISOString(),
  date: () => '2026-11-01',
  duration: () => '1h',
  timezone: () => 'UTC',
  uri: () => 'http://127.0.0.1:9/hook',
};
/** Odd text that passes a plain string schema: control characters, bidi, emoji, lone surrogates, injections. */
export const ODD_TEXT = ['\u0000', 'a\u0000b', '\u0007\u001b[31m', '\u202eevil', '🙂', '\ud800', 'x\udc00', '\r\nx-injected: 1', "' OR 1=1 --", '{id:String}', '../../etc/passwd', '%00', ' ', '\t'];

/** A schema with its `$ref` followed (refs point into the document's components). */
export function resolver(doc: { components?: { schemas?: Record<string, JsonSchema> } }): (s: JsonSchema) => JsonSchema {
  return function resolve(s) {
    if (!s.$ref) return s;
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    const found = doc.components?.schemas?.[name];
    if (!found) throw new Error(`the OpenAPI document has no schema ${s.$ref}`);
    return resolve(found);
  };
}

function typesOf(s: JsonSchema): string[] {
  if (s.type) return [s.type].flat();
  if (s.properties || s.patternProperties) return ['object'];
  if (s.items) return ['array'];
  return ['string'];
}

function fit(text: string, s: JsonSchema): string {
  const max = s.maxLength ?? 10_000;
  const min = s.minLength ?? 0;
  let out = text.slice(0, max);
  while (out.length < min) out += 'x';
  return out;
}

function stringOf(s: JsonSchema, rng: Rng, mode: SampleMode): string {
  if (s.format && FORMAT_PLAIN[s.format]) return mode === 'plain' ? FORMAT_PLAIN[s.format]!() : rng.pick(FORMAT_EXTREMES[s.format]!);
  if (s.pattern) {
    // Identifier-like patterns (entity kinds, policy and token names): a name that passes, longest when extreme.
    const base = `fuzz_${rng.int(1e6)}`;
    const long = mode === 'extreme' ? base + 'x'.repeat(Math.max(0, (s.maxLength ?? 64) - base.length)) : base;
    for (const candidate of [long, base, 'a']) if (new RegExp(s.pattern).test(candidate) && candidate.length <= (s.maxLength ?? Infinity)) return candidate;
    return base;
  }
  if (mode === 'plain') return fit(`fuzz-${rng.int(1e6)}`, s);
  const odd = rng.pick(ODD_TEXT);
  return fit(rng.chance(0.5) ? odd : odd.repeat(Math.ceil((s.maxLength ?? 300) / odd.length)), s);
}

function numberOf(s: JsonSchema, rng: Rng, mode: SampleMode, integer: boolean): number {
  const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : 0.5) : undefined);
  const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : 0.5) : undefined);
  if (mode === 'plain') {
    const from = lo ?? 1;
    const to = hi ?? from + 10;
    const v = from + rng.next() * Math.min(10, to - from);
    return integer ? Math.ceil(v) : Math.round(v * 100) / 100;
  }
  const edges = integer
    ? [lo ?? 0, hi ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0, lo ?? -Number.MAX_SAFE_INTEGER]
    : [lo ?? 0, hi ?? Number.MAX_VALUE, Number.MAX_VALUE, Number.MIN_VALUE, 1e-300, 1e300, 2 ** 53 + 2, 0.1 + 0.2, -0];
  const ok = edges.filter((v) => (lo === undefined || v >= lo) && (hi === undefined || v <= hi) && (s.exclusiveMinimum === undefined || v > s.exclusiveMinimum) && (s.exclusiveMaximum === undefined || v < s.exclusiveMaximum));
  return rng.pick(ok.length > 0 ? ok : [lo ?? 0]);
}

// Plain strings that hold a duration or a time by their name: sampled as such, so their edges get tried too.
const NAMED_FORMATS: Record<string, string> = { ttl: 'duration', step: 'duration', rolling: 'duration', from: 'date-time', to: 'date-time' };
function hinted(key: string, s: JsonSchema): JsonSchema {
  const format = NAMED_FORMATS[key];
  return format && !s.format && !s.pattern && s.type === 'string' ? { ...s, format } : s;
}

/** A value for `schema` (see SampleMode); bounded in depth so recursive schemas end. */
export function sample(schema: JsonSchema, rng: Rng, mode: SampleMode, resolve: (s: JsonSchema) => JsonSchema, depth = 0): unknown {
  const s = resolve(schema);
  if ('const' in s) return s.const;
  if (s.enum) return rng.pick(s.enum);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return sample(rng.pick(branches), rng, mode, resolve, depth + 1);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((b) => sample(b, rng, mode, resolve, depth + 1)));
  const type = rng.pick(typesOf(s));
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return rng.chance(0.5);
    case 'integer':
      return numberOf(s, rng, mode, true);
    case 'number':
      return numberOf(s, rng, mode, false);
    case 'string':
      return stringOf(s, rng, mode);
    case 'array': {
      const min = s.minItems ?? 0;
      const max = Math.min(s.maxItems ?? 50, depth > 3 ? min : 50);
      const n = mode === 'extreme' ? max : Math.min(max, Math.max(min, 1));
      return s.items ? Array.from({ length: n }, () => sample(s.items!, rng, mode, resolve, depth + 1)) : [];
    }
    default: {
      const out: Record<string, unknown> = {};
      const required = new Set(s.required ?? []);
      for (const [k, p] of Object.entries(s.properties ?? {})) {
        if (required.has(k) || (depth < 4 && (mode === 'extreme' ? rng.chance(0.8) : rng.chance(0.4)))) out[k] = sample(hinted(k, resolve(p)), rng, mode, resolve, depth + 1);
      }
      const record = Object.values(s.patternProperties ?? {})[0] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (record && depth < 4 && Object.keys(out).length === 0) {
        const key = mode === 'extreme' ? rng.pick(['', 'a.b', '𝒳', 'k'.repeat(300), 'constructor', '0']) : 'fuzz';
        out[key] = sample(record, rng, mode, resolve, depth + 1);
      }
      return out;
    }
  }
}
