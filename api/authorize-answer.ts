import type { IncomingHttpHeaders } from 'node:http';
import { denialHeaders, headerSafe } from '../core/enforcement/denial-headers.ts';
import type { EntityRef } from '../core/enforcement/decide.ts';
import type { ForwardAuth } from '../detector/forward-auth.ts';
import type { Admission, AdmissionAnswer } from '../detector/reservations-service.ts';
import { ESTIMATE_HEADER, parseEstimateHeader } from './admission.ts';
import { bearerOf, GATEWAY_TOKEN_HEADER } from './auth.ts';
import { ambiguousIdentityHeader } from './identity-headers.ts';
import { SECURITY_HEADERS } from './security-header-values.ts';

/** Request headers that carry the request's entities (lower case). `secret` is looked up by its keyed hash as an api_key. */
export interface GatewayHeaders {
  api_key: string;
  secret: string;
  tenant: string;
  agent: string;
  user: string;
  conversation?: string | undefined;
  service?: string | undefined;
}

export interface AuthorizeOptions {
  forwardAuth: Pick<ForwardAuth, 'authorize'>;
  headers: GatewayHeaders;
  /** NGINX `auth_request` passes only 401/403 on: answer 403 (reason in the header) instead of 429 and 503. */
  nginxMode: boolean;
  /** The keyed hash ingest stores secret-bearing identity values under. */
  hashSecret: (secret: string) => string;
  /**
   * Admission, where the listener can reach the reservations ledger synchronously (the API port): a request with an
   * `x-tollkeeper-estimate` header is admitted (its worst case reserved) instead of only checked against the list.
   */
  admit?: Admission['admit'] | undefined;
}

/** The header an admitted request's reservation id comes back in: the gateway puts it on the call's span. */
export const RESERVATION_HEADER = 'x-tollkeeper-reservation-id';

/** One forward-auth answer, ready to send: both listeners (fastify on the API port, the gateway worker) send exactly this. */
export interface AuthorizeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /**
   * The same headers as one flat list, `content-length` included, ready for `writeHead`: set on the answers made
   * once and sent many times (an allowed request), so a listener sends them without building anything.
   */
  head?: readonly string[] | undefined;
}


export const JSON_TYPE = 'application/json; charset=utf-8';

const KINDS = ['api_key', 'tenant', 'agent', 'user', 'conversation', 'service'] as const;

function one(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** An answer with its flat header list made once (`head`), for answers that are sent again and again. */
export function prebuilt(status: number, headers: Record<string, string>, body: string): AuthorizeAnswer {
  const head: string[] = [];
  // The gateway listener sends this list as is: the API port's security headers are in it (fastify adds them there).
  for (const k in SECURITY_HEADERS) head.push(k, SECURITY_HEADERS[k]!);
  for (const k in headers) head.push(k, headers[k]!);
  head.push('content-length', String(Buffer.byteLength(body)));
  return { status, headers: Object.freeze(headers), body, head: Object.freeze(head) };
}

const ALLOW_BODY = '{"decision":"allow","stale":false}';
const ALLOW_STALE_BODY = '{"decision":"allow","stale":true}';

/** Same amounts left in the same dimensions. */
function sameRemaining(a: Partial<Record<string, number>>, b: Partial<Record<string, number>>): boolean {
  let n = 0;
  for (const d in a) {
    if (a[d] !== b[d]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * The forward-auth decision for one request, from its headers alone (the caller has already checked the gateway
 * token): which entities it carries, what the list says about them, and the answer's status, headers and body.
 * This is the one place `/v1/authorize` decides; the fastify route and the gateway worker both call it, so their
 * answers are the same bytes.
 */
/** Answers forward-auth from a request's headers; `raw` (node's rawHeaders) lets it see a repeated Authorization. */
export type AuthorizeAnswerer = (headers: IncomingHttpHeaders, raw?: readonly string[]) => AuthorizeAnswer;

export function createAuthorizeAnswerer(o: AuthorizeOptions): AuthorizeAnswerer {
  const read = (headers: IncomingHttpHeaders, name: string) => one(headers[name]);
  const kindHeaders = KINDS.map((k) => [k, o.headers[k]] as const).filter((x): x is readonly [(typeof KINDS)[number], string] => !!x[1]);
  const secretHeader = o.headers.secret.toLowerCase();
  const kindNames = kindHeaders.map(([, h]) => h.toLowerCase());
  const withSecret = [...kindNames, secretHeader];
  // The secret header is an identity unless it carries the gateway's own token (Authorization: Bearer <token>).
  const secretIsIdentity = (headers: IncomingHttpHeaders) => !(secretHeader === 'authorization' && read(headers, GATEWAY_TOKEN_HEADER) === undefined);

  function entitiesOf(headers: IncomingHttpHeaders): EntityRef[] {
    const out: EntityRef[] = [];
    for (const [kind, header] of kindHeaders) {
      const id = read(headers, header);
      if (id !== undefined) out.push({ kind, id });
    }
    // A gateway token sent as `Authorization: Bearer` is the caller's credential, not a client secret.
    if (secretIsIdentity(headers)) {
      const raw = read(headers, secretHeader);
      const secret = raw === undefined ? undefined : (bearerOf(raw) ?? raw);
      if (secret !== undefined) out.push({ kind: 'api_key', id: o.hashSecret(secret) });
    }
    return out;
  }

  // Header names per dimension, made once (not a string replace per request).
  const names = new Map<string, string>();
  const nameOf = (d: string) => {
    let n = names.get(d);
    if (n === undefined) names.set(d, (n = `x-tollkeeper-remaining-${d.replaceAll('_', '-')}`));
    return n;
  };
  const remainingHeaders = (h: Record<string, string>, remaining: Partial<Record<string, number>> | undefined) => {
    if (remaining) for (const d in remaining) {
      const v = remaining[d];
      if (v !== undefined) h[nameOf(d)] = String(Math.round(v * 1e6) / 1e6);
    }
  };

  /** An admission's answer in forward-auth's form: 200 with the reservation id, or the refusal's status, headers and body. */
  function admitted(a: AdmissionAnswer): AuthorizeAnswer {
    if (a.decision === 'allow') {
      const h: Record<string, string> = { 'content-type': JSON_TYPE };
      remainingHeaders(h, a.remaining);
      if (a.reservationId !== undefined) {
        h[RESERVATION_HEADER] = a.reservationId;
        h['x-tollkeeper-reservation-ttl'] = String(Math.round(a.ttlMs / 1000));
      }
      if (a.stale) h['x-tollkeeper-stale'] = '1';
      return { status: 200, headers: h, body: a.stale ? ALLOW_STALE_BODY : ALLOW_BODY };
    }
    if (a.list) return { status: o.nginxMode ? 403 : a.list.status, headers: { 'content-type': JSON_TYPE, ...denialHeaders(a.list) }, body: JSON.stringify(a.list.denial) };
    const denial = { decision: a.decision, entity: a.entity, reason: a.reason, source: a.source, ...(a.policy !== undefined ? { policy: a.policy } : {}), ...(a.resetsAt !== undefined ? { resets_at: a.resetsAt } : {}) };
    const status = a.source === 'staleness' ? 503 : a.decision === 'throttle' ? 429 : 403;
    const h: Record<string, string> = { 'content-type': JSON_TYPE, 'x-tollkeeper-reason': headerSafe(`${a.decision}: ${a.reason}`) };
    return { status: o.nginxMode ? 403 : status, headers: h, body: JSON.stringify(denial) };
  }

  // Allowed answers, made once: without remaining budget the answer is the same for everyone; with it, the last one
  // made is sent again while the amounts are the same (they change once per detector tick).
  const plainAllow = prebuilt(200, { 'content-type': JSON_TYPE }, ALLOW_BODY);
  let last: { remaining: Partial<Record<string, number>>; answer: AuthorizeAnswer } | undefined;
  const allowWith = (remaining: Partial<Record<string, number>>): AuthorizeAnswer => {
    if (last && sameRemaining(last.remaining, remaining)) return last.answer;
    const h: Record<string, string> = { 'content-type': JSON_TYPE };
    remainingHeaders(h, remaining);
    last = { remaining, answer: prebuilt(200, h, ALLOW_BODY) };
    return last.answer;
  };

  /** A request naming two identities in one header: 400 (403 for NGINX, which turns any other status into 500). */
  function ambiguous(header: string): AuthorizeAnswer {
    const message = `header ${header} names more than one identity (sent twice, or with a comma): one value per identity header`;
    const h = { 'content-type': JSON_TYPE, 'x-tollkeeper-reason': headerSafe(`deny: ${message}`) };
    return { status: o.nginxMode ? 403 : 400, headers: h, body: JSON.stringify({ error: 'ambiguous_identity', message, errors: [message] }) };
  }

  return (headers, raw) => {
    const twice = ambiguousIdentityHeader(headers, raw, secretIsIdentity(headers) ? withSecret : kindNames);
    if (twice !== undefined) return ambiguous(twice);
    const estimate = o.admit ? read(headers, ESTIMATE_HEADER) : undefined;
    if (estimate !== undefined && o.admit) {
      const parsed = parseEstimateHeader(estimate);
      const r = parsed.ok ? o.admit({ entities: entitiesOf(headers), estimate: parsed.value.estimate, ttlMs: parsed.value.ttlMs }) : parsed;
      if (!r.ok) return { status: 400, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ error: r.code, message: r.errors[0] ?? r.code, errors: r.errors }) };
      return admitted(r.value);
    }
    const { decision, stalenessMs, remaining } = o.forwardAuth.authorize(entitiesOf(headers));
    if (decision.allowed) {
      if (!decision.stale) return remaining ? allowWith(remaining) : plainAllow;
      const h: Record<string, string> = { 'content-type': JSON_TYPE };
      remainingHeaders(h, remaining);
      h['x-tollkeeper-stale'] = String(Math.round(stalenessMs / 1000));
      return { status: 200, headers: h, body: ALLOW_STALE_BODY };
    }
    return {
      status: o.nginxMode ? 403 : decision.status,
      headers: { 'content-type': JSON_TYPE, ...denialHeaders(decision) },
      body: JSON.stringify(decision.denial),
    };
  };
}
