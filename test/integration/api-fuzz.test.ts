// Hostile input on every route of the API port, read from the live OpenAPI document, for every way of presenting
// (or not) a token: never a 5xx, never a hang, every error coded, auth answered before validation, nothing stored
// by a refused request. Seeded: TOLLKEEPER_FUZZ_SEED=<n> replays a run (failures name their seed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../api/index.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { BODY_KINDS, bodyCase } from '../helpers/fuzz-body.ts';
import { closeFuzzAgent, describeExchange, errorShapeProblems, sendRaw, type Answer, type FuzzRequest } from '../helpers/fuzz-http.ts';
import { createRng, fuzzSeed } from '../helpers/fuzz-random.ts';
import { authCases, operationsOf, PATH_KINDS, pathFor, QUERY_KINDS, queryFor, type AuthCase, type OpenApiDoc, type Operation, type PathKind } from '../helpers/fuzz-request.ts';
import { resolver, type JsonSchema } from '../helpers/fuzz-schema.ts';
import { stateFingerprint } from '../helpers/fuzz-state.ts';

const seed = fuzzSeed();
const ROUNDS = Number(process.env.TOLLKEEPER_FUZZ_ROUNDS ?? 2);
// Past this, no new round starts (a round always finishes): bounded on a loaded machine.
const BUDGET_MS = 40_000;

let t: TestApp;
let doc: OpenApiDoc;
let ops: Operation[];
let routes: RouteInfo[];
let resolve: (s: JsonSchema) => JsonSchema;
/** The state fingerprint as of the last refused mutating request (undefined once one succeeded). */
let known: string | undefined;
beforeAll(async () => {
  // No detector ticks: an entry whose ttl passes would leave the list between two requests, and a refused request
  // must be seen to change nothing.
  t = await startApp({ startLoop: false });
  const res = await fetch(`${t.apiUrl}/openapi.json`);
  doc = (await res.json()) as OpenApiDoc;
  ops = operationsOf(doc);
  routes = t.app.api!.routeTable;
  resolve = resolver(doc);
});
afterAll(async () => {
  closeFuzzAgent();
  await t?.close({ cleanup: true });
});

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Headers some routes read (idempotency, ETags, estimates) or that describe the body oddly; mostly none.
const ODD_HEADERS: Record<string, string>[] = [
  ...Array.from({ length: 6 }, () => ({})),
  { 'idempotency-key': 'k'.repeat(8_000) },
  { 'idempotency-key': 'fuzz-idem' },
  { 'if-none-match': '*' },
  { 'x-tollkeeper-estimate': 'model=gpt-4o;input_tokens=999999999;max_output_tokens=999999999' },
  { 'content-encoding': 'gzip' },
  { accept: 'application/xml' },
  { 'x-tollkeeper-api-key': 'k'.repeat(5_000) },
];
// Path kinds whose URL the router refuses or cannot match, before any route (and its auth) runs.
const UNROUTABLE: ReadonlySet<PathKind> = new Set(['bad-percent', 'very-long', 'slash', 'empty']);

/** The auth level the listener gives the operation's route (the document only says "bearer"). */
function levelOf(op: Operation): string {
  const url = op.path.replace(/\{\*\}/g, '*').replace(/\{([^}]+)\}/g, ':$1');
  const r = routes.find((x) => x.url === url && x.method === op.method);
  if (!r) throw new Error(`${op.method} ${op.path} is in /openapi.json but not in the route table`);
  return r.auth;
}

function allowed(level: string, role: AuthCase['role']): boolean {
  if (level === 'public') return true;
  if (role === 'admin') return true;
  return role === 'gateway' && level === 'gateway';
}

interface Outcome {
  counts: Record<string, number>;
  problems: string[];
  /** Milliseconds spent per operation (printed with TOLLKEEPER_TEST_LOG, to see where a run's time goes). */
  ms: Record<string, number>;
}

/** One request and every check on its answer; problems are collected (the run goes on) and reported at the end. */
async function probe(op: Operation, auth: AuthCase, kinds: { path: PathKind; query: (typeof QUERY_KINDS)[number]; body: (typeof BODY_KINDS)[number] | undefined }, rng: ReturnType<typeof createRng>, out: Outcome): Promise<void> {
  const level = levelOf(op);
  const body = kinds.body ? bodyCase(kinds.body, op.body, rng, resolve) : undefined;
  const r: FuzzRequest = {
    method: op.method,
    path: pathFor(op, op.params.length > 0 ? kinds.path : 'plain', rng, resolve) + queryFor(op, kinds.query, rng, resolve),
    headers: { ...rng.pick(ODD_HEADERS), ...auth.headers, ...(body?.contentType ? { 'content-type': body.contentType } : {}) },
    body: body?.body,
  };
  const label = `seed ${seed}; auth ${auth.label}; path ${kinds.path}; query ${kinds.query}; body ${body?.label ?? 'none'}`;
  // A valid wait long-polls as long as it says: keep the valid ones short (the refused ones are what is fuzzed).
  r.path = r.path.replace(/([?&]wait=)([^&]*)/g, (m, k: string, v: string) => (Number(v) > 0.2 && Number(v) <= 60 ? `${k}0.05` : m));
  const mutating = MUTATING.has(op.method);
  // The state only changes when a mutating request succeeds: the fingerprint after a refused one is the next one's before.
  const before = mutating ? (known ??= await stateFingerprint(t)) : '';
  let a: Answer;
  const sentAt = performance.now();
  try {
    a = await sendRaw(t.apiUrl, r);
    out.ms[`${op.method} ${op.path}`] = (out.ms[`${op.method} ${op.path}`] ?? 0) + performance.now() - sentAt;
  } catch (err) {
    out.problems.push(`${describeExchange(r, undefined, label)}: ${(err as Error).message}`);
    return;
  }
  out.counts[a.status] = (out.counts[a.status] ?? 0) + 1;
  const fail = (why: string) => out.problems.push(`${describeExchange(r, a, label)}: ${why}`);
  // Forward-auth failing closed while the detector has not read usage yet (no ticks here) is a documented 503 about
  // the server's own state, with its denial body; never one about the input.
  const stale = op.path.startsWith('/v1/authorize') && a.status === 503 && (op.method === 'HEAD' || a.body.includes('"source":"staleness"'));
  if ((a.status >= 500 && !stale) || a.status < 200) fail('a server error on client input');
  const routable = op.params.length === 0 || !UNROUTABLE.has(kinds.path);
  // Node refuses a request line plus headers over 16 KiB before any route runs (431): with a huge token, a long
  // query and a long odd header together, that comes before authentication. A smaller head must never get it.
  const head = r.method.length + r.path.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
  if (a.status === 431) {
    if (head < 16 * 1024 - 512) fail(`431 for a ${head}-byte head, under the 16 KiB limit`);
  } else if (auth.status !== undefined) {
    if (a.status !== auth.status) fail(`expected ${auth.status}`);
  } else if (routable && !allowed(level, auth.role)) {
    const expected = auth.role === null ? 401 : 403;
    if (a.status !== expected && a.status !== 404) fail(`expected ${expected} before any validation (route level ${level})`);
  }
  if (a.status >= 400 && a.status < 500) {
    // Forward-auth's denials are its own documented body ({ decision, entity, reason, … }), not errors.
    const denial = op.path.startsWith('/v1/authorize') && (a.status === 403 || a.status === 429) && a.body.includes('"decision"');
    const shape = denial ? [] : errorShapeProblems(a, op.method === 'HEAD');
    if (shape.length > 0) fail(`error shape: ${shape.join('; ')}`);
    if (mutating) {
      known = await stateFingerprint(t);
      if (known !== before) fail('a refused request changed the stored state');
    }
  } else if (mutating) known = undefined;
}

describe(`fuzzed API requests (seed ${seed})`, () => {
  it('reads every operation from the live API description', () => {
    expect(ops.length).toBeGreaterThanOrEqual(30);
    expect(ops.map((o) => `${o.method} ${o.path}`)).toContain('POST /api/policies');
    expect(ops.filter((o) => o.body).length).toBeGreaterThanOrEqual(6);
  });

  it('never answers 5xx, answers coded errors, refuses before validating, stores nothing refused', { timeout: 180_000 }, async () => {
    const rng = createRng(seed);
    const tokens = authCases(t.adminToken, t.gatewayToken);
    const out: Outcome = { counts: {}, problems: [], ms: {} };
    const started = Date.now();
    let sent = 0;
    for (let round = 0; round < ROUNDS && Date.now() - started < BUDGET_MS; round++) {
      for (const op of ops) {
        const takesBody = op.body !== undefined || MUTATING.has(op.method);
        // Every auth case once, with some hostile input: who may not call the route learns nothing from it.
        for (const auth of tokens) {
          await probe(op, auth, { path: rng.pick(PATH_KINDS), query: rng.pick(QUERY_KINDS), body: takesBody ? rng.pick(BODY_KINDS) : undefined }, rng, out);
          sent++;
        }
        // Who may call it: every hostile body, query and path kind.
        const caller = tokens.filter((a) => a.role !== null && a.status === undefined && allowed(levelOf(op), a.role));
        const plainBody = takesBody ? ('plain' as const) : undefined;
        const cases = [
          ...(takesBody ? BODY_KINDS : [undefined]).map((body) => ({ path: 'plain' as const, query: 'none' as const, body })),
          ...QUERY_KINDS.map((query) => ({ path: 'plain' as const, query, body: plainBody })),
          ...(op.params.length > 0 ? PATH_KINDS : []).map((path) => ({ path, query: 'none' as const, body: plainBody })),
        ];
        for (const kinds of cases) {
          await probe(op, rng.pick(caller), kinds, rng, out);
          sent++;
        }
      }
    }
    if (process.env.TOLLKEEPER_TEST_LOG) {
      const slowest = Object.entries(out.ms).sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => `${k} ${Math.round(v)} ms`);
      console.log({ seed, sent, ms: Date.now() - started, counts: out.counts, slowest });
    }
    expect(out.problems.slice(0, 20), `${out.problems.length} problems (seed ${seed})`).toEqual([]);
    expect(sent).toBeGreaterThan(1000);
    expect(out.counts[400]).toBeGreaterThan(0);
    expect(out.counts[401]).toBeGreaterThan(0);

    // Still up, and still serving every listener.
    expect((await fetch(`${t.apiUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.apiUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${t.otlpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.gatewayUrl}/healthz`)).status).toBe(200);
  });
});
