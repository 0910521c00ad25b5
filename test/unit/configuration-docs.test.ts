import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../core/config/schema.ts';
import { documentedKeys, schemaKeys } from '../helpers/schema-keys.ts';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

/** The config schema as JSON Schema (what a user writes, before defaults and transforms): TypeBox schemas are JSON Schema. */
function configJsonSchema(): object {
  return configSchema;
}

describe('docs/configuration.md', () => {
  const inSchema = schemaKeys(configJsonSchema());
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
