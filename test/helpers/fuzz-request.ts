import type { Rng } from './fuzz-random.ts';
import { ODD_TEXT, sample, type JsonSchema } from './fuzz-schema.ts';

/** One operation of the OpenAPI document: what the fuzz needs to aim requests at it. */
export interface Operation {
  method: string;
  /** As the document writes it: `/api/policies/{name}`. */
  path: string;
  params: { name: string; schema: JsonSchema }[];
  query: { name: string; schema: JsonSchema }[];
  body: JsonSchema | undefined;
}

interface OpenApiParameter {
  in: string;
  name: string;
  schema?: JsonSchema;
}
interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** Every operation of the document, one per path and method. */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const ps = op.parameters ?? [];
      out.push({
        method: method.toUpperCase(),
        path,
        params: ps.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        query: ps.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out;
}

/** Percent-encoding of any string, lone surrogates too (as U+FFFD, which is what UTF-8 can carry). */
export function encode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

export const PATH_KINDS = ['plain', 'extreme', 'dot-dot', 'nul', 'bad-percent', 'long', 'very-long', 'unicode', 'slash', 'empty'] as const;
export type PathKind = (typeof PATH_KINDS)[number];

/** A path parameter as it goes on the wire (already percent-encoded, or deliberately not). */
function paramValue(kind: PathKind, schema: JsonSchema, rng: Rng, resolve: (s: JsonSchema) => JsonSchema): string {
  switch (kind) {
    case 'plain':
    case 'extreme': {
      const v = sample(schema, rng, kind, resolve);
      return encode(String(v));
    }
    case 'dot-dot':
      return rng.pick(['..', '.', '%2e%2e', '..%2f..%2fhealthz', '..%5c..', '%2e%2e%2f%2e%2e%2fopenapi.json']);
    case 'nul':
      return rng.pick(['%00', 'a%00b', '%00%00%00', '%0d%0ax-injected:%201']);
    case 'bad-percent':
      return rng.pick(['%zz', '%', '%e', 'a%2', '%C3%28', '%ED%A0%80', '%FF%FE']);
    case 'long':
      // Around the lengths schemas allow (64, 128, 256) and the router's own limit.
      return 'k'.repeat(rng.pick([65, 101, 129, 257]));
    case 'very-long':
      return 'k'.repeat(rng.pick([1_000, 8_000]));
    case 'unicode':
      return encode(rng.pick(ODD_TEXT));
    case 'slash':
      return rng.pick(['%2F', 'a%2Fb', 'a/b', '%5C']);
    case 'empty':
      return '';
  }
}

/** The URL path of `op` with each `{param}` filled by a value of `kind`. */
export function pathFor(op: Operation, kind: PathKind, rng: Rng, resolve: (s: JsonSchema) => JsonSchema): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const p = op.params.find((x) => x.name === name);
    return paramValue(kind, p?.schema ?? { type: 'string' }, rng, resolve);
  });
}

export const QUERY_KINDS = ['none', 'plain', 'extreme', 'odd-value', 'repeated', 'array', 'bad-percent', 'unknown', 'long', 'odd-syntax'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

// As they go on the wire: `%20` is a space, `%D9%A3` an Arabic-Indic three.
const ODD_VALUES = ['', 'abc', '-1', '1e400', '-1e400', 'NaN', 'Infinity', '0x10', '1.5', '99999999999999999999', '%205', '+5', '%00', '%ff%fe', 'true', '[]', '{}', '..%2F..', '%F0%9F%99%82', '0000-00-00', '2026-13-45T99:99:99Z', '1e1', '%D9%A3'];

/** A query string (with its `?`, or '' for none) of `kind` for an operation with these query parameters. */
export function queryFor(op: Operation, kind: QueryKind, rng: Rng, resolve: (s: JsonSchema) => JsonSchema): string {
  const names = op.query.length > 0 ? op.query.map((q) => q.name) : ['limit', 'since', 'id'];
  const name = rng.pick(names);
  const valueOf = (mode: 'plain' | 'extreme', q: { schema: JsonSchema }) => encode(String(sample(q.schema, rng, mode, resolve)));
  switch (kind) {
    case 'none':
      return '';
    case 'plain':
    case 'extreme':
      return '?' + op.query.filter(() => rng.chance(kind === 'plain' ? 0.5 : 0.9)).map((q) => `${q.name}=${valueOf(kind, q)}`).join('&');
    case 'odd-value':
      return `?${name}=${rng.pick(ODD_VALUES)}`;
    case 'repeated':
      return `?${name}=1&${name}=2&${name}=${rng.pick(ODD_VALUES)}`;
    case 'array':
      return rng.pick([`?${name}[]=1&${name}[]=2`, `?${name}[0]=1`, `?${name}[a][b]=1`, `?${name}=1,2,3`]);
    case 'bad-percent':
      return rng.pick([`?${name}=%zz`, `?%zz=1`, `?${name}%=1`, `?${name}=%`, `?${name}=%C3%28`, `?%00=1`]);
    case 'unknown':
      return rng.pick(['?fuzz=1', '?__proto__=1', '?constructor=x', '?toString=1', '?hasOwnProperty=1']);
    case 'long':
      return `?${name}=${'9'.repeat(rng.pick([300, 4_000]))}`;
    case 'odd-syntax':
      return rng.pick(['?', '?&&&', '?=', '?==1', `?${name}`, `?${name}=1&`, '?;', `?${name}=1;${name}=2`, '??x=1', `?${name}=1#frag`]);
  }
}

/** A way of presenting (or not) a token, and the role the server should see. */
export interface AuthCase {
  label: string;
  headers: Record<string, string>;
  role: 'admin' | 'gateway' | null;
  /** Expected status instead of the auth answer, for headers the HTTP layer refuses first (too large). */
  status?: number;
}

/** The tokens presented every odd way a client might, each with the role it must (or must not) get. */
export function authCases(admin: string, gateway: string): AuthCase[] {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  return [
    { label: 'admin', headers: bearer(admin), role: 'admin' },
    { label: 'admin, lower-case scheme and spaces', headers: { authorization: `bearer    ${admin}  ` }, role: 'admin' },
    { label: 'admin in the gateway-token header', headers: { 'x-tollkeeper-gateway-token': admin }, role: 'admin' },
    { label: 'gateway', headers: bearer(gateway), role: 'gateway' },
    { label: 'gateway in its header', headers: { 'x-tollkeeper-gateway-token': gateway }, role: 'gateway' },
    { label: 'none', headers: {}, role: null },
    { label: 'basic', headers: { authorization: `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}` }, role: null },
    { label: 'bare scheme', headers: { authorization: 'Bearer' }, role: null },
    { label: 'scheme and spaces only', headers: { authorization: 'Bearer      ' }, role: null },
    { label: 'token with a space inside', headers: bearer(`${admin} ${admin}`), role: null },
    { label: 'two tokens', headers: bearer(`${gateway},${admin}`), role: null },
    { label: 'truncated admin', headers: bearer(admin.slice(0, -1)), role: null },
    { label: 'token scheme', headers: { authorization: `Token ${admin}` }, role: null },
    { label: 'latin-1 token', headers: { authorization: 'Bearer \u00e9\u00ff\u00e0' }, role: null },
    { label: 'huge token', headers: bearer('x'.repeat(8_000)), role: null },
    { label: 'empty gateway-token header', headers: { 'x-tollkeeper-gateway-token': '' }, role: null },
    { label: 'over the header limit', headers: bearer('x'.repeat(20_000)), role: null, status: 431 },
  ];
}
