import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/** One answer as the fuzz sees it. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FuzzRequest {
  method: string;
  /** Path and query exactly as sent (no normalization: `..` and bad percent-encoding reach the server). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends one request with node:http (which, unlike fetch, sends the path as given) and reads the whole answer.
 * Fails on a reset or when no answer comes within `timeoutMs` (a hang is a finding, not a slow test).
 */
export function sendRaw(base: string, r: FuzzRequest, timeoutMs = 30_000): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = String(r.body.length);
    const req = request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(r.body);
  });
}

/** Closes the kept-alive sockets (after a run). */
export function closeFuzzAgent(): void {
  agent.destroy();
}

/**
 * What is wrong with an error answer: the API's error shape is `{ error: <code>, message, errors: [..] }`
 * with a JSON content type. Returns the problems (empty when the answer is fine).
 */
export function errorShapeProblems(a: Answer, head: boolean): string[] {
  if (head) return a.body.length === 0 ? [] : ['a HEAD answer has a body'];
  const type = String(a.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return [`content-type ${JSON.stringify(type)} is not JSON`];
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.body.toString('utf8'));
  } catch {
    return [`body is not JSON: ${a.body.toString('utf8').slice(0, 200)}`];
  }
  const b = parsed as { error?: unknown; message?: unknown; errors?: unknown };
  const problems: string[] = [];
  if (typeof b.error !== 'string' || !/^[a-z][a-z_]*$/.test(b.error)) problems.push(`error is not a code: ${JSON.stringify(b.error)}`);
  if (typeof b.message !== 'string' || b.message === '') problems.push('message is missing');
  if (!Array.isArray(b.errors) || b.errors.length === 0 || !b.errors.every((e) => typeof e === 'string')) problems.push('errors is not a list of messages');
  return problems;
}

/** A short rendering of a request and its answer for a failure message. */
export function describeExchange(r: FuzzRequest, a: Answer | undefined, label: string): string {
  const body = r.body === undefined ? '' : ` body(${r.body.length}) ${r.body.subarray(0, 120).toString('utf8')}`;
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${v.length > 60 ? `${v.slice(0, 20)}…(${v.length})` : v}`).join('; ');
  const answer = a ? ` → ${a.status} ${a.body.subarray(0, 300).toString('utf8')}` : '';
  return `[${label}] ${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}…(${r.path.length})` : r.path} {${headers}}${body}${answer}`;
}
