import { parse as parseYaml, YAMLParseError } from 'yaml';
import { Value, TransformDecodeError } from '@sinclair/typebox/value';
import { withDefaults } from '../schema/defaults.ts';
import { describeErrors, joinPath, PathError, pathText } from '../schema/describe-errors.ts';
import { unknownEnvWarnings } from './env-names.ts';
import { configProblems, configSchema, configWarnings, type ParsedConfig } from './schema.ts';

/** Settings given on the command line (docs/configuration.md); they beat env, which beats the file. */
export interface Flags {
  config?: string;
  data?: string;
  clickhouseUrl?: string;
  host?: string;
  otlpPort?: number;
  apiPort?: number;
  /** `--insecure-ingest`: sets `ingest.insecure`. */
  insecureIngest?: boolean;
  gatewayPort?: number;
}

export type Config = ParsedConfig & {
  /** Where the config came from, for messages ("(defaults)" when no file). */
  source: string;
  /** Directory for embedded ClickHouse, tokens, spool. */
  dataDir: string;
};

/** `warnings`: what is accepted but likely a mistake (email with no recipient, a TOLLKEEPER_* variable that is not read), for stderr. */
export type LoadResult = { ok: true; config: Config; warnings?: string[] } | { ok: false; errors: string[] };

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
  const envErrors = tokensFromEnv(merged, input.env);
  const parsed = parseConfig(merged);
  if (!parsed.ok || envErrors.length > 0) return { ok: false, errors: [...envErrors, ...(parsed.ok ? [] : parsed.errors)].map((e) => `${input.source}: ${e}`) };
  const config = parsed.config;
  const dataDir = input.flags.data ?? input.env.TOLLKEEPER_DATA ?? config.store.chdb?.path ?? './data';
  const warnings = [...configWarnings(merged).map((w) => `${input.source}: ${w}`), ...unknownEnvWarnings(input.env)];
  return { ok: true, config: { ...config, source: input.source, dataDir }, ...(warnings.length > 0 ? { warnings } : {}) };
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
  if (env.TOLLKEEPER_METRICS_TOKEN) section('auth').metrics_token = env.TOLLKEEPER_METRICS_TOKEN;
  if (env.TOLLKEEPER_OTLP_TOKEN) section('auth').otlp_token = env.TOLLKEEPER_OTLP_TOKEN;
  if (flags.insecureIngest) section('ingest').insecure = true;
  if (env.TOLLKEEPER_SMTP_URL) {
    const alerts = section('alerts');
    alerts.email = { ...((alerts.email) ?? {}), smtp_url: env.TOLLKEEPER_SMTP_URL };
  }
  if (flags.host !== undefined) section('server').host = flags.host;
  if (flags.otlpPort !== undefined) section('server').otlp_port = flags.otlpPort;
  if (flags.apiPort !== undefined) section('server').api_port = flags.apiPort;
  if (flags.gatewayPort !== undefined) section('gateway').port = flags.gatewayPort;
  return out;
}

/**
 * Ingest tokens given as `token_env` take their secret from that environment variable (the file then holds no
 * secret). A variable that is not set is an error naming the token's path, never a token that silently is not there.
 */
function tokensFromEnv(merged: Record<string, unknown>, env: Record<string, string | undefined>): string[] {
  const ingest = merged.ingest;
  const tokens = typeof ingest === 'object' && ingest !== null ? (ingest as Record<string, unknown>).tokens : undefined;
  if (!Array.isArray(tokens)) return [];
  const errors: string[] = [];
  tokens.forEach((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) return;
    const token = t as Record<string, unknown>;
    if (typeof token.token_env !== 'string' || token.token !== undefined) return;
    const value = env[token.token_env];
    if (value === undefined || value === '') errors.push(`ingest.tokens[${i}].token_env: environment variable ${token.token_env} is not set`);
    else {
      token.token = value;
      delete token.token_env;
    }
  });
  return errors;
}

/** Defaults filled in, then checked (every problem, each with its path and value), then converted. */
function parseConfig(merged: Record<string, unknown>): { ok: true; config: ParsedConfig } | { ok: false; errors: string[] } {
  const value = withDefaults(configSchema, merged);
  const problems = [...(Value.Check(configSchema, value) ? [] : describeErrors(configSchema, value)), ...configProblems(value)];
  if (problems.length > 0) return { ok: false, errors: problems };
  let config: ParsedConfig;
  try {
    config = Value.Decode(configSchema, value);
  } catch (err) {
    // A value the schema accepts but its conversion refuses (an anchor that does not exist in its time zone).
    if (err instanceof TransformDecodeError) {
      const at = err.error instanceof PathError ? joinPath(pathText(err.path), err.error.subpath) : pathText(err.path);
      return { ok: false, errors: [`${at}: ${err.error.message}`] };
    }
    throw err;
  }
  return { ok: true, config };
}
