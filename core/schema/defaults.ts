import type { TSchema } from '@sinclair/typebox';

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `value` with the schema's `default`s filled in where a key is missing, in mappings and list items (not inside
 * unions: a union's branches default themselves when converted). Values of the wrong type are left as they are
 * for the check to report: a list where a mapping belongs is an error, never a mapping of defaults.
 */
export function withDefaults(schema: TSchema, value: unknown): unknown {
  const s = schema as TSchema & { properties?: Record<string, TSchema>; items?: TSchema; default?: unknown };
  let v = value;
  if (v === undefined && 'default' in s) v = structuredClone(s.default);
  if (s.type === 'object' && s.properties && isMapping(v)) {
    const out: Record<string, unknown> = { ...v };
    for (const [key, sub] of Object.entries(s.properties)) {
      const filled = withDefaults(sub, out[key]);
      if (filled !== undefined) out[key] = filled;
    }
    return out;
  }
  if (s.type === 'array' && s.items && Array.isArray(v)) return v.map((item) => withDefaults(s.items!, item));
  return v;
}
