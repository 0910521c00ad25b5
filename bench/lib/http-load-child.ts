// HTTP load generator on raw keep-alive sockets (one request in flight per connection, no pipelining), run as its
// own process so its CPU never lands on the server's event loop. Like autocannon, with sub-millisecond latency
// (autocannon's histogram rounds to whole milliseconds and leaves out 3xx, and the 304 path is what we measure).
// Modes: closed loop (saturation), open loop at a fixed overall rate, and long-poll (one request per connection,
// report when each answer arrived). One process serves the loads it is sent one after another (bench/lib/http-load.ts
// forks it before the app starts, so it keeps the default priority).
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface HttpLoadSpec {
  mode: 'closed' | 'rate' | 'longpoll';
  port: number;
  /** Raw request heads (and bodies), used round robin; each must be a complete HTTP/1.1 request. */
  requests: string[];
  connections: number;
  durationMs: number;
  /** Overall requests per second (mode 'rate'). */
  rate?: number;
  /** Requests before timing starts (closed and rate modes). */
  warmupMs?: number;
}

export interface HttpLoadResult {
  requests: number;
  elapsedMs: number;
  statuses: Record<string, number>;
  errors: number;
  firstError: string;
  /** Latencies in ms, sorted (long-poll mode: arrival times as epoch ms). */
  latencies: number[];
  /** Requests that found no free connection at their due time (rate mode): they waited for one. */
  late: number;
  /** Connections the server closed (`Connection: close`) and the generator opened again. */
  reconnects: number;
  cpuMs: number;
  bytes: number;
}

interface Conn {
  socket: net.Socket;
  busy: boolean;
  sentAt: number;
  /** What arrived of the response being read: chunks kept apart until it is complete (one copy per response, not one per chunk). */
  chunks: Buffer[];
  /** Their total length. */
  received: number;
  /** The whole response's length once its head is read (0 until then). */
  need: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CLOSE = /\r\nconnection:\s*close\b/i;

/** Length of the response whose head is at the start of buf, or 0 while its head is incomplete. Content-Length framing only. */
function responseLength(buf: Buffer): number {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return 0;
  const head = buf.toString('latin1', 0, end);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const status = Number(head.slice(9, 12));
  // 304 and 204 never have a body, whatever Content-Length says (it may give the full representation's length).
  let len = 0;
  if (status !== 304 && status !== 204) {
    if (!m) throw new Error(`response without Content-Length (status ${status}): ${head.slice(0, 200)}`);
    len = Number(m[1]);
  }
  return end + 4 + len;
}

async function run(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  const payloads = spec.requests.map((r) => Buffer.from(r, 'latin1'));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let errors = 0;
  let firstError = '';
  let late = 0;
  let bytes = 0;
  let measuring = spec.mode === 'longpoll' || !spec.warmupMs;
  let stopped = false;
  let onFree: (c: Conn) => void = () => undefined;

  // A connection the server closes with `Connection: close` (NGINX after keepalive_requests) is opened again, as a
  // real client would: it is counted, and its next request waits for the new connection.
  let reconnects = 0;
  const open = (c: Conn | undefined): Promise<Conn> =>
    new Promise<Conn>((resolve, reject) => {
      const socket = net.connect({ port: spec.port, host: '127.0.0.1' }, () => resolve(conn));
      const conn: Conn = c ?? { socket, busy: false, sentAt: 0, chunks: [], received: 0, need: 0 };
      conn.socket = socket;
      conn.chunks = [];
      conn.received = 0;
      conn.need = 0;
      let closing = false;
      socket.setNoDelay(true);
      socket.on('error', (err) => {
        errors++;
        firstError ||= err.message;
        reject(err);
      });
      socket.on('data', (chunk: Buffer) => {
        conn.chunks.push(chunk);
        conn.received += chunk.length;
        if (conn.need === 0) {
          // The head usually comes whole in the first chunk; until it does, the chunks so far are joined to look for it.
          if (conn.chunks.length > 1) conn.chunks = [Buffer.concat(conn.chunks, conn.received)];
          try {
            conn.need = responseLength(conn.chunks[0]!);
          } catch (err) {
            errors++;
            firstError ||= (err as Error).message;
            socket.destroy();
            return;
          }
          if (conn.need === 0) return;
        }
        if (conn.received < conn.need) return;
        const now = performance.now();
        const buf = conn.chunks.length > 1 ? Buffer.concat(conn.chunks, conn.received) : conn.chunks[0]!;
        const n = conn.need;
        const status = buf.toString('latin1', 9, 12);
        closing = CLOSE.test(buf.toString('latin1', 0, buf.indexOf(HEADER_END)));
        bytes += n;
        // One request in flight per connection: anything after this response is the start of the next one's.
        const rest = buf.subarray(n);
        conn.chunks = rest.length ? [rest] : [];
        conn.received = rest.length;
        conn.need = 0;
        conn.busy = false;
        if (measuring) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          latencies.push(spec.mode === 'longpoll' ? performance.timeOrigin + now : now - conn.sentAt);
        }
        if (closing) {
          // Busy until it is open again, so nothing is sent on the closing socket.
          conn.busy = true;
          socket.end();
          if (stopped) return;
          reconnects++;
          open(conn).then(() => {
            conn.busy = false;
            if (!stopped) onFree(conn);
          }, () => undefined);
          return;
        }
        if (!stopped) onFree(conn);
      });
    });

  const conns: Conn[] = await Promise.all(Array.from({ length: spec.connections }, () => open(undefined)));

  const send = (c: Conn) => {
    c.busy = true;
    c.sentAt = performance.now();
    c.socket.write(payloads[next++ % payloads.length]!);
  };

  const cpu0 = process.cpuUsage();
  let t0 = performance.now();
  if (spec.mode === 'longpoll') {
    const arrived = new Promise<void>((resolve) => {
      onFree = () => {
        if (latencies.length + errors >= spec.connections) resolve();
      };
    });
    for (const c of conns) send(c);
    process.send?.({ type: 'waiting' });
    await Promise.race([arrived, new Promise((r) => setTimeout(r, spec.durationMs))]);
  } else if (spec.mode === 'closed') {
    onFree = send;
    for (const c of conns) send(c);
    if (spec.warmupMs) {
      await new Promise((r) => setTimeout(r, spec.warmupMs));
      measuring = true;
      t0 = performance.now();
    }
    await new Promise((r) => setTimeout(r, spec.durationMs));
  } else {
    const rate = spec.rate ?? 1000;
    const free: Conn[] = [...conns];
    let backlog = 0;
    onFree = (c) => {
      if (backlog > 0) {
        backlog--;
        send(c);
      } else free.push(c);
    };
    let due = 0;
    let start = performance.now();
    const tick = () => {
      const target = Math.floor(((performance.now() - start) * rate) / 1000);
      for (; due < target; due++) {
        const c = free.pop();
        if (c) send(c);
        else {
          backlog++;
          if (measuring) late++;
        }
      }
    };
    const timer = setInterval(tick, 1);
    if (spec.warmupMs) {
      await new Promise((r) => setTimeout(r, spec.warmupMs));
      measuring = true;
    }
    t0 = performance.now();
    start = t0;
    due = 0;
    await new Promise((r) => setTimeout(r, spec.durationMs));
    clearInterval(timer);
  }
  const elapsedMs = performance.now() - t0;
  stopped = true;
  const cpu = process.cpuUsage(cpu0);
  for (const c of conns) c.socket.destroy();
  return {
    requests: latencies.length,
    elapsedMs,
    statuses,
    errors,
    firstError,
    latencies: latencies.sort((a, b) => a - b),
    late,
    reconnects,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytes,
  };
}

process.on('message', (spec: HttpLoadSpec) => {
  run(spec).then(
    (result) => process.send?.({ type: 'done', result }),
    (err: Error) => process.send?.({ type: 'failed', error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
