import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { configSchema, type ParsedConfig } from './schema.ts';
import { didYouMean } from '../schema/did-you-mean.ts';

/** Settings given on the command line (docs/configuration.md); they beat env, which beats the file. */
export interface Flags {
  config?: string;
  data?: string;
  clickhouseUrl?: string;
  host?: string;
  otlpPort?: number;
  apiPort?: number;
}

export type Config = ParsedConfig & {
  /** Where the config came from, for messages ("(defaults)" when no file). */
  source: string;
  /** Directory for embedded ClickHouse, tokens, spool. */
  dataDir: string;
};

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Builds the one validated config from file text, environment and flags. Pure: the caller reads the file. */
export function loadConfig(input: { fileText?: string; source: string; env: Record<string, string | undefined>; flags: Flags }): LoadResult {
  let raw: unknown = {};
  if (input.fileText !== undefined && input.fileText.trim() !== '') {
    try {
      raw = parseYaml(input.fileText, { prettyErrors: true }) ?? {};
    } catch (err) {
      const msg = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
      return { ok: false, errors: [`${input.source}: invalid YAML: ${msg}`] };
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return { ok: false, errors: [`${input.source}: expected a mapping at the top level, got ${Array.isArray(raw) ? 'a list' : typeof raw}`] };
    }
  }
  const merged = applyOverrides(raw as Record<string, unknown>, input.env, input.flags);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${input.source}: ${formatIssue(i, merged)}`) };
  }
  const config = parsed.data;
  const dataDir = input.flags.data ?? input.env.TOLLKEEPER_DATA ?? config.store.chdb?.path ?? './data';
  return { ok: true, config: { ...config, source: input.source, dataDir } };
}

function applyOverrides(file: Record<string, unknown>, env: Record<string, string | undefined>, flags: Flags): Record<string, unknown> {
  const out = structuredClone(file);
  const section = (name: string): Record<string, unknown> => {
    const v = out[name];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    if (v === undefined || v === null) out[name] = fresh;
    return v === undefined || v === null ? fresh : {};
  };
  const url = flags.clickhouseUrl ?? env.TOLLKEEPER_CLICKHOUSE_URL;
  if (url) {
    const store = section('store');
    const prev = (store.clickhouse ?? {}) as Record<string, unknown>;
    delete store.chdb;
    store.clickhouse = { ...prev, url };
  } else if (flags.data ?? env.TOLLKEEPER_DATA) {
    const store = section('store');
    if (!store.clickhouse) store.chdb = { path: flags.data ?? env.TOLLKEEPER_DATA };
  }
  if (env.TOLLKEEPER_ADMIN_TOKEN) section('auth').admin_token = env.TOLLKEEPER_ADMIN_TOKEN;
  if (env.TOLLKEEPER_GATEWAY_TOKEN) section('auth').gateway_token = env.TOLLKEEPER_GATEWAY_TOKEN;
  if (env.TOLLKEEPER_SMTP_URL) {
    const alerts = section('alerts');
    alerts.email = { ...((alerts.email) ?? {}), smtp_url: env.TOLLKEEPER_SMTP_URL };
  }
  if (flags.host !== undefined) section('server').host = flags.host;
  if (flags.otlpPort !== undefined) section('server').otlp_port = flags.otlpPort;
  if (flags.apiPort !== undefined) section('server').api_port = flags.apiPort;
  return out;
}

function pathText(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s || '(top level)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** One line per problem: path, message, and the offending value. */
export function formatIssue(issue: z.core.$ZodIssue, root: unknown, schema: unknown = configSchema): string {
  const where = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const hint = didYouMean(k, knownKeys(issue.path, schema));
        return `${pathText([...issue.path, k])}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`;
      })
      .join('; ');
  }
  if (issue.code === 'invalid_union') {
    // Report the branch that got furthest: the one with the fewest problems.
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
    const first = best?.[0];
    if (first) return formatIssue({ ...first, path: [...issue.path, ...first.path] }, root);
  }
  const value = valueAt(root, issue.path);
  return `${where}: ${issue.message}${value !== undefined ? ` (got ${show(value)})` : ''}`;
}

/** Keys the schema allows at a path, for "did you mean". */
function knownKeys(path: readonly PropertyKey[], root: unknown): string[] {
  let schema: unknown = root;
  for (const p of [...path, null]) {
    schema = unwrap(schema);
    if (p === null) break;
    if (typeof p === 'number') {
      const def = (schema as { _zod?: { def?: { element?: unknown } } })._zod?.def;
      schema = def?.element;
    } else {
      const shape = (schema as { shape?: Record<string, unknown> }).shape;
      schema = shape?.[String(p)];
    }
  }
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = (s as { _zod?: { def?: { innerType?: unknown; in?: unknown; type?: string } } } | undefined)?._zod?.def;
    if (!def) return s;
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
  return s;
}
