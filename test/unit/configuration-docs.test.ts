import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../core/config/schema.ts';
import { documentedKeys, schemaKeys } from '../helpers/schema-keys.ts';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

/**
 * The config schema as JSON Schema (what a user writes, before defaults and transforms): a TypeBox schema is one
 * already; a zod schema is converted (zod is loaded only then, so this file does not depend on it).
 */
async function configJsonSchema(): Promise<object> {
  const schema: unknown = configSchema;
  if (typeof schema === 'object' && schema !== null && 'properties' in schema) return schema;
  const zod = 'zod';
  const { z } = await import(zod);
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

describe('docs/configuration.md', async () => {
  const inSchema = schemaKeys(await configJsonSchema());
  const inDoc = documentedKeys(readFileSync(DOC, 'utf8'));

  it('walks the schema into dotted keys, lists and alternatives included', () => {
    const keys = schemaKeys({
      type: 'object',
      properties: {
        a: { type: 'object', properties: { b: { type: 'string' }, c: { type: 'array', items: { type: 'string' } } } },
        list: { type: 'array', items: { type: 'object', properties: { x: { type: 'number' } } } },
        kinds: { type: 'array', items: { anyOf: [{ const: 'a' }, { const: 'b' }] } },
        act: { anyOf: [{ type: 'string', enum: ['alert'] }, { $ref: '#/$defs/t' }] },
      },
      $defs: { t: { type: 'object', properties: { throttle: { type: 'object', properties: { rpm: { type: 'number' } } } } } },
    });
    expect(keys).toEqual(['a.b', 'a.c', 'act', 'act.throttle.rpm', 'kinds', 'list[].x']);
    expect(inSchema.length).toBeGreaterThan(60);
  });

  it('documents every key of the config schema', () => {
    expect(inSchema.filter((k) => !inDoc.includes(k))).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    expect(inDoc.filter((k) => !inSchema.includes(k))).toEqual([]);
  });
});
