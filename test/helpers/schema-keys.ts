// The documented-keys check walks JSON Schema, so it does not care which library wrote the config schema: zod
// converts with z.toJSONSchema, a TypeBox schema already is one.

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
};

/**
 * Every key a user can write, as dotted paths (`server.host`, `policies[].period.rolling`): the leaves, i.e. keys
 * whose value is not an object with named keys in at least one alternative, and every key below those objects.
 */
export function schemaKeys(root: object): string[] {
  const r = root as JsonSchema;
  const defs = { ...r.definitions, ...r.$defs };
  const out = new Set<string>();
  const resolve = (s: JsonSchema): JsonSchema => {
    if (!s.$ref) return s;
    const name = s.$ref.replace(/^#\/(\$defs|definitions)\//, '');
    const target = defs[name];
    if (!target) throw new Error(`unresolved $ref ${s.$ref}`);
    return resolve(target);
  };
  const hasKeys = (schema: JsonSchema): boolean => {
    const s = resolve(schema);
    if (s.properties && Object.keys(s.properties).length > 0) return true;
    return [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])].some(hasKeys);
  };
  const walk = (path: string, schema: JsonSchema, depth: number): void => {
    if (depth > 20) throw new Error(`schema nests deeper than 20 levels at ${path}`);
    const s = resolve(schema);
    const alternatives = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
    if (alternatives.length > 0) {
      for (const a of alternatives) walk(path, a, depth + 1);
      if (!s.properties && !s.items) return;
    }
    if (s.properties && Object.keys(s.properties).length > 0) {
      for (const [k, v] of Object.entries(s.properties)) walk(path ? `${path}.${k}` : k, v, depth + 1);
      return;
    }
    const items = Array.isArray(s.items) ? s.items : s.items ? [s.items] : [];
    // Lists of plain values (strings, enums as a union of literals) are one key; lists of objects are walked.
    const objects = items.filter(hasKeys);
    if (objects.length > 0) {
      for (const i of objects) walk(`${path}[]`, i, depth + 1);
      return;
    }
    if (path) out.add(path);
  };
  walk('', r, 0);
  return [...out].sort();
}

/** Keys documented in a markdown reference: the first cell of table rows, in backticks (`| \`server.host\` | …`). */
export function documentedKeys(markdown: string): string[] {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^\|\s*`([A-Za-z_][A-Za-z0-9_.[\]]*)`\s*\|/gm)) out.add(m[1]!);
  return [...out].sort();
}
