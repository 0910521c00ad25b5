// What an HTTP client library will not send, written to raw sockets on the three listeners (API, OTLP, gateway):
// invalid header characters, request smuggling (Content-Length and Transfer-Encoding), HTTP/1.0 without Host,
// pipelining. No 5xx, every error with a body is coded, no smuggled request is answered, every listener keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { errorShapeProblems } from '../helpers/fuzz-http.ts';
import { rawExchange, type RawResponse } from '../helpers/fuzz-raw.ts';
import { stateFingerprint } from '../helpers/fuzz-state.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t?.close({ cleanup: true });
});

interface Listener {
  name: string;
  port: () => number;
  /** A route that takes a body (the OTLP traces route, the API's policies, forward-auth on the gateway). */
  post: string;
}
const LISTENERS: Listener[] = [
  { name: 'API', port: () => Number(new URL(t.apiUrl).port), post: '/api/policies' },
  { name: 'OTLP', port: () => Number(new URL(t.otlpUrl).port), post: '/v1/traces' },
  { name: 'gateway', port: () => Number(new URL(t.gatewayUrl).port), post: '/v1/authorize' },
];

const SMUGGLED = 'GET /smuggled-request-answered HTTP/1.1\r\nHost: x\r\n\r\n';
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
const close = 'Connection: close\r\n';

interface RawCase {
  name: string;
  bytes: (l: Listener) => string;
  /**
   * The statuses the answers may have, in order, one list per acceptable sequence (a refused request closes the
   * connection; a route that refuses a caller before reading the body answers that before the body's fault shows).
   */
  expect: number[][];
}

const CASES: RawCase[] = [
  { name: 'a space in a header name', bytes: () => get('/healthz', `X Bad: 1\r\n${close}`), expect: [[400]] },
  { name: 'a control character in a header value', bytes: () => get('/healthz', `X-Bad: a\u0001b\r\n${close}`), expect: [[400]] },
  { name: 'NUL in a header value', bytes: () => get('/healthz', `X-Bad: a\u0000b\r\n${close}`), expect: [[400]] },
  { name: 'a space before the colon', bytes: () => get('/healthz', `Content-Length : 0\r\n${close}`), expect: [[400]] },
  { name: 'an obs-fold continuation line', bytes: () => get('/healthz', `X-A: a\r\n b\r\n${close}`), expect: [[400]] },
  { name: 'an unknown method', bytes: () => `FUZZ /healthz HTTP/1.1\r\nHost: x\r\n${close}\r\n`, expect: [[400]] },
  // Node reads an HTTP/2.0 request line as HTTP/1.x (prior-knowledge HTTP/2 starts with its preface, not this).
  { name: 'HTTP/2.0 in the request line', bytes: () => `GET /healthz HTTP/2.0\r\nHost: x\r\n${close}\r\n`, expect: [[200], [400], [505]] },
  { name: 'raw bytes above 0x7f in the path', bytes: () => get('/\u00ff\u00fe', close), expect: [[400]] },
  { name: 'header block over the size limit', bytes: () => get('/healthz', `X-Big: ${'x'.repeat(20_000)}\r\n${close}`), expect: [[431]] },
  {
    name: 'Content-Length and Transfer-Encoding together (CL.TE)',
    bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${5 + SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    expect: [[400]],
  },
  {
    name: 'Transfer-Encoding and Content-Length together (TE.CL)',
    bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(2 + SMUGGLED.length).toString(16)}\r\n{}${SMUGGLED}\r\n0\r\n\r\n`,
    expect: [[400]],
  },
  { name: 'Transfer-Encoding: xchunked', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`, expect: [[400]] },
  { name: 'Transfer-Encoding: chunked, identity', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`, expect: [[400]] },
  { name: 'two different Content-Length headers', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, expect: [[400]] },
  { name: 'Content-Length: -1', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n${SMUGGLED}`, expect: [[400]] },
  { name: 'Content-Length: +0', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n${SMUGGLED}`, expect: [[400]] },
  { name: 'a chunk size that overflows', bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nx\r\n0\r\n\r\n${SMUGGLED}`, expect: [[400], [401, 400], [401]] },
  { name: 'HTTP/1.0 without Host', bytes: () => 'GET /healthz HTTP/1.0\r\n\r\n', expect: [[200]] },
  { name: 'HTTP/1.1 without Host', bytes: () => `GET /healthz HTTP/1.1\r\n${close}\r\n`, expect: [[400]] },
  { name: 'three pipelined requests', bytes: () => get('/healthz') + get('/healthz') + get('/healthz', close), expect: [[200, 200, 200]] },
  { name: 'pipelined, a bad request in the middle', bytes: () => get('/healthz') + `GET /healthz HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\n\r\n` + get('/healthz', close), expect: [[200, 400]] },
  {
    name: 'pipelined after a body the server refuses unread',
    bytes: (l) => `POST ${l.post} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` + get('/healthz', close),
    expect: [[400, 200], [401, 200]],
  },
];

function problemsOf(l: Listener, c: RawCase, responses: RawResponse[]): string[] {
  const problems: string[] = [];
  const statuses = responses.map((r) => r.status);
  const fits = c.expect.some((seq) => JSON.stringify(seq) === JSON.stringify(statuses));
  if (!fits) problems.push(`answered ${JSON.stringify(statuses)}, expected ${JSON.stringify(c.expect)}`);
  for (const r of responses) {
    if (r.status >= 500) problems.push(`a ${r.status}`);
    if (r.body.includes('smuggled-request-answered')) problems.push('the smuggled request was answered');
    // OTLP answers its own status bodies on its routes; every other error is the API's coded shape.
    const otlpRoute = l.name === 'OTLP' && c.bytes(l).includes('/v1/traces') && r.status !== 431;
    // HTTP/1.1 without Host is refused by node itself, before any handler, with an empty 400 (the RFC's answer).
    const noHost = c.name === 'HTTP/1.1 without Host' && r.body.length === 0;
    if (r.status >= 400 && !otlpRoute && !noHost) {
      const shape = errorShapeProblems({ status: r.status, headers: r.headers, body: r.body }, false);
      if (shape.length > 0) problems.push(`${r.status} ${r.body.subarray(0, 200).toString('latin1')}: ${shape.join('; ')}`);
    }
  }
  return problems;
}

describe('raw HTTP on every listener', () => {
  it('refuses malformed and smuggling requests cleanly, answers pipelined ones in order, and keeps serving', { timeout: 120_000 }, async () => {
    const before = await stateFingerprint(t);
    const problems: string[] = [];
    for (const l of LISTENERS) {
      for (const c of CASES) {
        try {
          const { responses, rest } = await rawExchange(l.port(), c.bytes(l));
          for (const p of problemsOf(l, c, responses)) problems.push(`${l.name}: ${c.name}: ${p}`);
          if (rest.length > 0) problems.push(`${l.name}: ${c.name}: unparsable answer bytes ${rest.subarray(0, 120).toString('latin1')}`);
        } catch (err) {
          problems.push(`${l.name}: ${c.name}: ${(err as Error).message}`);
        }
      }
      expect((await fetch(`http://127.0.0.1:${l.port()}/healthz`)).status, `${l.name} still answers`).toBe(200);
    }
    expect(problems).toEqual([]);
    expect(await stateFingerprint(t)).toBe(before);
  });
});
