import type { Rng } from './fuzz-random.ts';
import { ODD_TEXT, sample, type JsonSchema } from './fuzz-schema.ts';

/** One hostile request body and the Content-Type it is sent with (undefined: no body, or no header). */
export interface BodyCase {
  label: string;
  body: Buffer | undefined;
  contentType: string | undefined;
}

const JSON_TYPE = 'application/json';
const MARK = 'FUZZ_MARK_7f3a';

/** Every [container, key] inside a JSON value, the root's own slot included (container null). */
function slots(v: unknown, out: [Record<string, unknown> | unknown[] | null, string | number][] = [[null, '']]): typeof out {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots(x, out);
    }
  }
  return out;
}

/** `base` with one slot (not the root) replaced by `value`; the root itself when it has no slot. */
function replaced(base: unknown, rng: Rng, value: unknown): unknown {
  const copy = structuredClone(base);
  const inner = slots(copy).filter(([c]) => c !== null);
  if (inner.length === 0) return value;
  const [c, k] = rng.pick(inner);
  (c as Record<string | number, unknown>)[k] = value;
  return copy;
}

/** The JSON text of `base` with one slot holding `raw` as it is (raw JSON tokens JSON.stringify cannot write). */
function withRaw(base: unknown, rng: Rng, raw: string): string {
  return JSON.stringify(replaced(base, rng, MARK)).replace(`"${MARK}"`, raw);
}

const WRONG_TYPES: unknown[] = [true, 0, -1, 1.5, '', 'x', null, [], {}, [[]], { a: { b: {} } }];
const RAW_NUMBERS = ['1e400', '-1e400', '-0', '1e-400', '123456789012345678901234567890', '-1', '-9007199254740993', '0.0000001', '"NaN"', '"Infinity"', '"-Infinity"', '"1e3"', '" 5 "', '0x10', '.5', '+1', '01'];
const INVALID_UTF8 = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xc0, 0xaf])];
const ODD_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/JSON', 'application/json, text/plain', 'application/xml', ';;;', 'application/json; boundary="', '*/*', 'application/x-protobuf'];

export const BODY_KINDS = [
  'plain',
  'extreme',
  'wrong-type',
  'missing-field',
  'extra-field',
  'raw-number',
  'long-string',
  'odd-text',
  'invalid-utf8',
  'duplicate-keys',
  'deep-nesting',
  'truncated',
  'wrong-content-type',
  'no-content-type',
  'empty',
  'oversized',
  'top-level',
  'prototype',
] as const;
export type BodyKind = (typeof BODY_KINDS)[number];

/** A hostile body of `kind` for a route whose body schema is `schema` (undefined: the route takes none). */
export function bodyCase(kind: BodyKind, schema: JsonSchema | undefined, rng: Rng, resolve: (s: JsonSchema) => JsonSchema): BodyCase {
  const base = schema ? sample(schema, rng, 'plain', resolve) : { fuzz: 1 };
  const json = (v: unknown, label: string = kind): BodyCase => ({ label, body: Buffer.from(JSON.stringify(v)), contentType: JSON_TYPE });
  const text = (t: string | Buffer, label: string = kind, contentType: string | undefined = JSON_TYPE): BodyCase => ({ label, body: Buffer.isBuffer(t) ? t : Buffer.from(t), contentType });
  switch (kind) {
    case 'plain':
      return json(base);
    case 'extreme':
      return json(schema ? sample(schema, rng, 'extreme', resolve) : base);
    case 'wrong-type':
      return json(replaced(base, rng, rng.pick(WRONG_TYPES)));
    case 'missing-field': {
      const copy = structuredClone(base);
      const inner = slots(copy).filter(([c]) => c !== null && !Array.isArray(c));
      if (inner.length > 0) {
        const [c, k] = rng.pick(inner);
        delete (c as Record<string, unknown>)[k];
      }
      return json(copy);
    }
    case 'extra-field': {
      const copy = structuredClone(base);
      const objects = slots(copy).map(([c, k]) => (c === null ? copy : (c as Record<string | number, unknown>)[k])).filter((v) => v && typeof v === 'object' && !Array.isArray(v));
      const target = (objects.length > 0 ? rng.pick(objects) : copy) as Record<string, unknown>;
      if (target && typeof target === 'object') target[rng.pick(['fuzz_extra', 'Name', '', 'limits ', 'toString'])] = rng.pick(WRONG_TYPES);
      return json(copy);
    }
    case 'raw-number': {
      const raw = rng.pick(RAW_NUMBERS);
      return text(withRaw(base, rng, raw), `raw-number ${raw}`);
    }
    case 'long-string':
      return json(replaced(base, rng, 'x'.repeat(rng.pick([300, 5_000, 200_000]))));
    case 'odd-text':
      return json(replaced(base, rng, rng.pick(ODD_TEXT)));
    case 'invalid-utf8': {
      const [before, after] = JSON.stringify(replaced(base, rng, MARK)).split(MARK) as [string, string?];
      return text(Buffer.concat([Buffer.from(before), rng.pick(INVALID_UTF8), Buffer.from(after ?? '')]));
    }
    case 'duplicate-keys': {
      const t = JSON.stringify(base);
      const first = /^\{"((?:[^"\\]|\\.)*)":/.exec(t);
      // The first key again at the end, with a wrong value: which one wins must not matter.
      return text(first && t.endsWith('}') ? `${t.slice(0, -1)},"${first[1]}":${JSON.stringify(rng.pick(WRONG_TYPES))}}` : `{"a":1,"a":${t}}`);
    }
    case 'deep-nesting': {
      const n = rng.pick([64, 2_000, 100_000]);
      const nested = rng.chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
      return text(rng.chance(0.5) ? nested : withRaw(base, rng, nested), `deep-nesting ${n}`);
    }
    case 'truncated': {
      const t = JSON.stringify(base);
      return text(t.slice(0, rng.int(Math.max(1, t.length - 1))));
    }
    case 'wrong-content-type': {
      const type = rng.pick(ODD_TYPES);
      return text(JSON.stringify(base), `content-type ${type}`, type);
    }
    case 'no-content-type':
      return text(JSON.stringify(base), kind, undefined);
    case 'empty':
      return rng.chance(0.5) ? text('') : { label: 'no body', body: undefined, contentType: JSON_TYPE };
    case 'oversized':
      // Past the API's 1 MiB body limit, as valid JSON (a long string), so only the size is wrong.
      return json(replaced(base, rng, 'x'.repeat(1024 * 1024 + rng.int(512 * 1024))));
    case 'top-level':
      return text(rng.pick(['null', '[]', '"text"', '5', 'true', '[{}]', '{}', ' ', '\u0000']));
    case 'prototype':
      return text(rng.pick(['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', `{"a":1,"__proto__":${JSON.stringify(base)}}`, '{"\\u005f_proto__":{"x":1}}']));
  }
}
