import { Webhook } from 'standardwebhooks';
import { parseDuration } from '../quota/duration.ts';

const mapping = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const ms = (v: unknown): number | undefined => {
  const r = typeof v === 'string' ? parseDuration(v) : undefined;
  return r?.ok ? r.ms : undefined;
};

/**
 * What the schema cannot say: choices that exclude or require each other. Judged on the file's values (defaults
 * filled in) so these problems are reported together with the schema's. Each problem names its path.
 */
export function configProblems(value: unknown): string[] {
  const problems: string[] = [];
  const store = mapping(mapping(value)?.store);
  if (store?.chdb !== undefined && store.clickhouse !== undefined) problems.push('store: choose one of store.chdb and store.clickhouse');
  const t = mapping(mapping(mapping(value)?.server)?.timeouts);
  const [headers, request, idle, socket, replay] = [ms(t?.headers), ms(t?.request), ms(t?.idle), ms(t?.socket), ms(t?.replay)];
  if (headers !== undefined && request !== undefined && !(headers > 0 && headers <= request)) problems.push('server.timeouts: headers must be more than 0 and at most request');
  if ((request !== undefined && request <= 0) || (idle !== undefined && idle <= 0)) problems.push('server.timeouts: request and idle must be more than 0');
  if (socket !== undefined && socket !== 0 && socket <= 60_000) problems.push('server.timeouts: socket must be 0 (off) or more than 60s, the longest revocation long-poll');
  // An answer written after the socket was closed is never read.
  if (replay !== undefined && (replay < 1000 || (socket !== undefined && socket !== 0 && replay >= socket))) problems.push('server.timeouts: replay must be at least 1s and, when socket is on, less than socket');
  const answer = ms(mapping(mapping(value)?.ingest)?.answer_within);
  if (answer !== undefined && (answer < 1000 || (socket !== undefined && socket !== 0 && answer >= socket))) problems.push('ingest.answer_within: must be at least 1s and, when server.timeouts.socket is on, less than it');
  const tokens = mapping(mapping(value)?.ingest)?.tokens;
  if (Array.isArray(tokens)) {
    const seen = new Set<unknown>();
    tokens.forEach((t, i) => {
      const token = mapping(t);
      if (!token) return;
      const given = ['token', 'token_hash', 'token_env'].filter((k) => token[k] !== undefined);
      if (given.length !== 1) problems.push(`ingest.tokens[${i}]: give exactly one of token, token_hash and token_env (got ${given.length === 0 ? 'none' : given.join(', ')})`);
      if (token.name === 'otlp_token') problems.push(`ingest.tokens[${i}].name: "otlp_token" is the name of auth.otlp_token; choose another`);
      else if (seen.has(token.name)) problems.push(`ingest.tokens[${i}].name: ${JSON.stringify(token.name)} is used by an earlier token`);
      seen.add(token.name);
    });
  }
  const webhooks = mapping(mapping(value)?.alerts)?.webhooks;
  if (Array.isArray(webhooks)) {
    // Deliveries, secrets and the 410 switch are kept per subscriber id: the name, else a digest of the URL.
    const ids = new Map<string, number>();
    webhooks.forEach((w, i) => {
      const hook = mapping(w);
      const id = typeof hook?.name === 'string' ? `name:${hook.name}` : typeof hook?.url === 'string' ? `url:${hook.url}` : undefined;
      const first = id === undefined ? undefined : ids.get(id);
      if (first !== undefined && id!.startsWith('name:')) problems.push(`alerts.webhooks[${i}].name: ${JSON.stringify(hook!.name)} is the name of alerts.webhooks[${first}]; give each webhook its own`);
      else if (first !== undefined) problems.push(`alerts.webhooks[${i}].url: the same URL as alerts.webhooks[${first}]; give one of them a name`);
      else if (id !== undefined) ids.set(id, i);
      if (hook && hook.format !== 'slack' && hook.secret === undefined) problems.push(`alerts.webhooks[${i}].secret: a standard webhook needs a secret (whsec_… or any string of 8+ characters)`);
      const bad = hook && typeof hook.secret === 'string' ? whsecProblem(hook.secret) : undefined;
      if (bad) problems.push(`alerts.webhooks[${i}].secret: a secret starting with whsec_ is base64 after the prefix (${bad}); any other string is used as raw key bytes`);
    });
  }
  return problems;
}

/** Why Standard Webhooks cannot sign with this whsec_ secret (every delivery would fail), or undefined. */
function whsecProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return undefined;
  try {
    new Webhook(secret).sign('msg_check', new Date(0), '');
    return undefined;
  } catch (err) {
    // The library's message names the problem, never the secret.
    return err instanceof Error ? err.message : 'not base64';
  }
}

/**
 * What is accepted but almost surely a mistake, said at start (stderr) and by check-config. Email with nobody to write
 * to is not refused: an SMTP server set for the whole fleet (TOLLKEEPER_SMTP_URL) must not stop a detector whose
 * file has no recipients yet, but every mail would be dropped, so it is said.
 */
export function configWarnings(value: unknown): string[] {
  const warnings: string[] = [];
  const email = mapping(mapping(mapping(value)?.alerts)?.email);
  const listed = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
  if (email?.smtp_url !== undefined && !listed(email.to) && !listed(email.routes)) {
    warnings.push('alerts.email.to: email is on (alerts.email.smtp_url or TOLLKEEPER_SMTP_URL) but has no recipient, so no mail is sent: list addresses in alerts.email.to or in alerts.email.routes');
  }
  return warnings;
}
