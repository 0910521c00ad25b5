// Load generator, run as its own process (forked by bench/lib/load.ts) so the client's CPU never runs on
// the collector's event loop. Commands arrive over IPC; see LoadCommand.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { CONTENT_TYPE, requestFactory, type Format } from './otlp-requests.ts';
import { summarize, type Summary } from './stats.ts';

export interface LoadSpec {
  url: string;
  format: Format;
  spans: number;
  concurrency: number;
  /** Stop after this many spans were sent (null: only the time limit). */
  spanBudget: number | null;
  maxMs: number;
  /** First request sequence number (ids are unique per sequence number). */
  seqStart: number;
  /** Pace the requests to this many spans per second overall (default: as fast as answers come back). */
  spansPerSecond?: number;
}

export interface LoadResult {
  requests: number;
  spansSent: number;
  spansOk: number;
  statuses: Record<string, number>;
  withRetryAfter: number;
  errors: number;
  firstError: string;
  latencyMs: Summary;
  elapsedMs: number;
  cpuMs: number;
  bytesPerRequest: number;
  nextSeq: number;
}

export interface ProbeResult {
  probes: number;
  ok: number;
  failed: number;
  skipped: number;
  latencyMs: Summary;
  firstError: string;
}

export type LoadCommand =
  | { type: 'prepare'; format: Format; spans: number }
  | { type: 'load'; spec: LoadSpec }
  | { type: 'probe'; url: string; intervalMs: number }
  | { type: 'probe-stop' };

export type LoadReply = { type: 'prepared'; bytes: number } | { type: 'loaded'; result: LoadResult } | { type: 'probing' } | { type: 'probed'; result: ProbeResult };

const factories = new Map<string, ReturnType<typeof requestFactory>>();
function factory(format: Format, spans: number) {
  const key = `${format}/${spans}`;
  let f = factories.get(key);
  if (!f) factories.set(key, (f = requestFactory(format, spans)));
  return f;
}

interface Answer {
  status: number;
  retryAfter: boolean;
}

function post(agent: http.Agent, url: URL, path: string, body: Buffer | null, contentType: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body ? { 'content-type': contentType, 'content-length': body.length } : {};
    const req = http.request({ host: url.hostname, port: url.port, path, method: body ? 'POST' : 'GET', agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] !== undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const f = factory(spec.format, spec.spans);
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let seq = spec.seqStart;
  let spansClaimed = 0;
  let spansOk = 0;
  let withRetryAfter = 0;
  let errors = 0;
  let firstError = '';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const more = () => (spec.spanBudget === null || spansClaimed + spec.spans <= spec.spanBudget) && performance.now() - t0 < spec.maxMs;
  async function worker(): Promise<void> {
    while (more()) {
      if (spec.spansPerSecond) {
        // Paced: this request is due when the spans before it have had their share of time.
        const dueMs = (spansClaimed / spec.spansPerSecond) * 1000 - (performance.now() - t0);
        if (dueMs > 0) await new Promise((r) => setTimeout(r, dueMs));
        if (!more()) break;
      }
      spansClaimed += spec.spans;
      const body = f.make(seq++, Date.now());
      const start = performance.now();
      try {
        const a = await post(agent, url, '/v1/traces', body, CONTENT_TYPE[spec.format]);
        latencies.push(performance.now() - start);
        statuses[a.status] = (statuses[a.status] ?? 0) + 1;
        if (a.status === 200) spansOk += spec.spans;
        else if (a.retryAfter) withRetryAfter++;
      } catch (err) {
        errors++;
        firstError ||= (err as Error).message;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, () => worker()));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return {
    requests: latencies.length + errors,
    spansSent: spansClaimed,
    spansOk,
    statuses,
    withRetryAfter,
    errors,
    firstError,
    latencyMs: summarize(latencies),
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytesPerRequest: f.bytesPerRequest,
    nextSeq: seq,
  };
}

/** GET /healthz every `intervalMs` (never two at once: a tick that finds one in flight counts as skipped). */
function startProbe(baseUrl: string, intervalMs: number): () => ProbeResult {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let inFlight = false;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  let firstError = '';
  const timer = setInterval(() => {
    if (inFlight) {
      skipped++;
      return;
    }
    inFlight = true;
    const start = performance.now();
    post(agent, url, '/healthz', null, '').then(
      (a) => {
        latencies.push(performance.now() - start);
        if (a.status === 200) ok++;
        else {
          failed++;
          firstError ||= `status ${a.status}`;
        }
        inFlight = false;
      },
      (err: Error) => {
        failed++;
        firstError ||= err.message;
        inFlight = false;
      },
    );
  }, intervalMs);
  return () => {
    clearInterval(timer);
    agent.destroy();
    return { probes: ok + failed, ok, failed, skipped, latencyMs: summarize(latencies), firstError };
  };
}

let stopProbe: (() => ProbeResult) | undefined;
const reply = (m: LoadReply) => process.send?.(m);

process.on('message', (m: LoadCommand) => {
  if (m.type === 'prepare') reply({ type: 'prepared', bytes: factory(m.format, m.spans).bytesPerRequest });
  else if (m.type === 'load') void load(m.spec).then((result) => reply({ type: 'loaded', result }));
  else if (m.type === 'probe') {
    stopProbe = startProbe(m.url, m.intervalMs);
    reply({ type: 'probing' });
  } else if (stopProbe) {
    reply({ type: 'probed', result: stopProbe() });
    stopProbe = undefined;
  }
});
process.on('disconnect', () => process.exit(0));
