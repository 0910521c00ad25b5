// The routes gateways call, fuzzed on both the gateway listener (its own node:http server in a worker) and the API
// port: odd `since`, `wait` and If-None-Match on the revocation list, odd entity and estimate headers on
// forward-auth, every way of presenting a token. Both ports must answer the same status, never a 5xx, errors coded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { closeFuzzAgent, describeExchange, errorShapeProblems, sendRaw, type Answer, type FuzzRequest } from '../helpers/fuzz-http.ts';
import { createRng, fuzzSeed, type Rng } from '../helpers/fuzz-random.ts';
import { authCases } from '../helpers/fuzz-request.ts';
import { ODD_TEXT } from '../helpers/fuzz-schema.ts';

const seed = fuzzSeed();
let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
  // A listed key, so the list has a version above 0 and forward-auth has something to deny.
  const r = await fetch(`${t.apiUrl}/v1/enforcement`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'throttle', kind: 'api_key', id: 'fuzz-throttled', reason: 'fuzz', limit: { requests_per_minute: 1 } }),
  });
  expect(r.status).toBe(200);
});
afterAll(async () => {
  closeFuzzAgent();
  await t?.close({ cleanup: true });
});

// Waits that pass are tiny (a valid wait on a current version long-polls for that long); the rest must be refused.
const WAITS = ['', '0', '0.01', '1e-2', '-1', '61', '60.0000001', '1e400', 'NaN', 'Infinity', '-0', 'abc', '1,5', '0.0000001', '%D9%A3', '%00', '0.01&wait=0.02'];
const SINCES = ['', '0', '1', '-1', '1.5', '1e3', '99999999999999999999', '9007199254740993', 'abc', '0x1', '%zz', '%201', '1&since=2'];
const ETAGS = ['*', 'W/"1"', '"-1"', '""', '"1", "2"', '"99999999999999999999999"', '1', 'W/', '"1', 'x'.repeat(8_000), '"\u00e9"'];
const PATHS = ['/v1/revocations', '/v1/revocations', '/v1/authorize', '/v1/authorize', '/v1/authorize/a/b/c', '/v1/authorize/..%2f..', '/v1/revocations/', '/v1/Revocations', '/healthz', '/%zz', '/v1/authorize%00'];
const METHODS = ['GET', 'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const ENTITY_HEADERS = ['x-tollkeeper-api-key', 'x-tollkeeper-tenant', 'x-tollkeeper-agent', 'x-tollkeeper-user'];
const ESTIMATES = ['model=gpt-4o;input_tokens=1200;max_output_tokens=800', 'model=', ';;;', 'model=gpt-4o;input_tokens=-1', 'model=gpt-4o;input_tokens=999999999;max_output_tokens=999999999', 'ttl=0', 'model=x;ttl=999999999', 'model=gpt-4o;unknown=1', 'x'.repeat(4_000)];

/** Latin-1 only: node's HTTP client refuses other header characters (the raw-socket test sends those). */
const latin1 = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

function gatewayRequest(rng: Rng): { r: FuzzRequest; label: string } {
  const auth = rng.pick(authCases(t.adminToken, t.gatewayToken).filter((a) => a.status === undefined));
  const path = rng.pick(PATHS);
  // The revocation list answers GET and HEAD only: mostly those, so its query is what gets fuzzed.
  const method = path.startsWith('/v1/revocations') && rng.chance(0.8) ? rng.pick(['GET', 'GET', 'HEAD']) : rng.pick(METHODS);
  const query: string[] = [];
  if (rng.chance(0.6)) query.push(`since=${rng.pick(SINCES)}`);
  // Only refused waits, or tiny ones: a valid wait on the current version waits as long as it says.
  if (rng.chance(0.5)) query.push(`wait=${rng.pick(WAITS)}`);
  const headers: Record<string, string> = { ...auth.headers };
  if (rng.chance(0.5)) headers['if-none-match'] = rng.pick(ETAGS);
  for (const h of ENTITY_HEADERS) if (rng.chance(0.3)) headers[h] = rng.pick(['fuzz-throttled', '', latin1(rng.pick(ODD_TEXT)), 'k'.repeat(rng.pick([257, 5_000]))]);
  if (rng.chance(0.2)) headers['x-tollkeeper-estimate'] = rng.pick(ESTIMATES);
  const body = method === 'POST' && rng.chance(0.5) ? Buffer.from(rng.pick(['{"a":', 'x'.repeat(70_000), '[]'])) : undefined;
  if (body) headers['content-type'] = rng.pick(['application/json', 'text/plain', 'application/grpc']);
  return { r: { method, path: path + (query.length > 0 ? `?${query.join('&')}` : ''), headers, body }, label: `seed ${seed}; auth ${auth.label}` };
}

function problemsOf(a: Answer, r: FuzzRequest): string[] {
  const problems: string[] = [];
  if (a.status >= 500) problems.push('a server error on client input');
  if (a.status >= 400 && a.status < 500) {
    const denial = r.path.startsWith('/v1/authorize') && (a.status === 403 || a.status === 429) && (r.method === 'HEAD' || a.body.includes('"decision"'));
    if (!denial) problems.push(...errorShapeProblems(a, r.method === 'HEAD'));
  }
  return problems;
}

describe(`fuzzed gateway routes on both listeners (seed ${seed})`, () => {
  it('answers the same status on both ports, never a 5xx, every error coded', { timeout: 120_000 }, async () => {
    const rng = createRng(seed);
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    const runs = Number(process.env.TOLLKEEPER_FUZZ_GATEWAY_RUNS ?? 400);
    for (let i = 0; i < runs; i++) {
      const { r, label } = gatewayRequest(rng);
      const answers: Answer[] = [];
      for (const base of [t.gatewayUrl, t.apiUrl]) {
        try {
          const a = await sendRaw(base, r, 20_000);
          answers.push(a);
          counts[a.status] = (counts[a.status] ?? 0) + 1;
          for (const p of problemsOf(a, r)) problems.push(`${base === t.gatewayUrl ? 'gateway' : 'API'} ${describeExchange(r, a, label)}: ${p}`);
        } catch (err) {
          problems.push(`${describeExchange(r, undefined, label)} on ${base}: ${(err as Error).message}`);
        }
      }
      const [g, api] = answers;
      // The API port also routes /docs, /openapi.json and the rest: only the gateway's own paths must agree.
      // A throttled key's rate is counted per listener, and only the API port admits an estimate (it holds the
      // reservations): those answers may differ by design; the rest must not.
      const perListener = r.headers['x-tollkeeper-estimate'] !== undefined || Object.values(r.headers).includes('fuzz-throttled');
      const gatewayPath = !perListener && /^\/(v1\/authorize(\/|\?|$)|v1\/revocations(\?|$)|healthz(\?|$))/.test(r.path);
      if (g && api && gatewayPath && g.status !== api.status) problems.push(`${describeExchange(r, g, label)}: the gateway listener answered ${g.status}, the API port ${api.status}`);
    }
    if (process.env.TOLLKEEPER_TEST_LOG) console.log({ seed, counts });
    expect(problems.slice(0, 20), `${problems.length} problems (seed ${seed})`).toEqual([]);
    expect(counts[401]).toBeGreaterThan(0);
    expect(counts[400]).toBeGreaterThan(0);
    expect((await fetch(`${t.gatewayUrl}/healthz`)).status).toBe(200);
  });
});
