// A body over the limit gets a 413 the client can read, also while it is still streaming its body: answered as
// soon as the limit is passed (or from Content-Length), then the rest is drained within a bound before the
// connection closes, so the client reads the 413 instead of a connection reset.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type TestCollector } from '../helpers/collector-app.ts';
import { useTestStore } from '../helpers/test-store.ts';

const stores = useTestStore();
const MiB = 1024 * 1024;
let c: TestCollector;
let spoolDir: string;
beforeAll(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), 'tk-413-'));
  // The default 8 MiB limit, as users get it.
  c = await startCollector({ repo: stores.ts.repo, spoolDir, spoolMaxBytes: 64 * MiB, batchSize: 500, flushIntervalMs: 5, maxQueued: 100_000 });
});
afterAll(async () => {
  await c.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

/** `total` bytes of `fill` in 1 MiB chunks, made as they are read (the client streams; nothing is buffered whole). */
function bytes(total: number, fill: () => Buffer = () => Buffer.alloc(MiB, 0x20)): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const chunk = fill();
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

interface Upload {
  status?: number;
  body: string;
  connection?: string;
  /** Bytes of the body the client had handed to the socket when the answer arrived. */
  sentAtAnswer: number;
  error?: string;
}

/** A real node:http client streaming `source` as the request body; it keeps sending until the answer arrives. */
function upload(headers: Record<string, string>, source: Readable): Promise<Upload> {
  return new Promise((resolve) => {
    const url = new URL(`${c.url}/v1/traces`);
    let sent = 0;
    const out: Upload = { body: '', sentAtAnswer: -1 };
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers });
    source.on('data', (d: Buffer) => (sent += d.length));
    req.on('response', (res) => {
      out.status = res.statusCode;
      out.connection = res.headers.connection;
      out.sentAtAnswer = sent;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (out.body += d));
      res.on('end', () => {
        source.unpipe(req);
        source.destroy();
        req.destroy();
        resolve(out);
      });
    });
    req.on('error', (err) => {
      if (out.status === undefined) resolve({ ...out, error: (err as NodeJS.ErrnoException).code ?? err.message });
    });
    source.pipe(req);
  });
}

const json = { 'content-type': 'application/json' };

describe('413 that a streaming client can read', () => {
  it('a 100 MiB plain body with Content-Length: answered before it is sent', async () => {
    const r = await upload({ ...json, 'content-length': String(100 * MiB) }, bytes(100 * MiB));
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(413);
    expect(r.connection).toBe('close');
    expect(JSON.parse(r.body)).toEqual({ code: 8, message: expect.stringContaining('8388608-byte limit') });
    console.log(`100 MiB with Content-Length: 413 read after ${(r.sentAtAnswer / MiB).toFixed(1)} MiB sent`);
  });

  it('a 100 MiB plain body sent chunked: answered once the limit is passed', async () => {
    const r = await upload(json, bytes(100 * MiB));
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ code: 8 });
    expect(r.sentAtAnswer).toBeLessThan(100 * MiB);
    console.log(`100 MiB chunked: 413 read after ${(r.sentAtAnswer / MiB).toFixed(1)} MiB sent`);
  });

  it('a gzip body inflating past the limit, still streaming: answered once the inflated size passes it', async () => {
    // Random data compresses to about its own size, so the compressed stream is 100 MiB long too.
    const gz = bytes(100 * MiB, () => randomBytes(MiB)).pipe(createGzip({ level: 1 }));
    const r = await upload({ ...json, 'content-encoding': 'gzip' }, gz);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(413);
    // Random data does not shrink: the compressed stream passes the limit first (a bomb passes it inflated, below).
    expect(JSON.parse(r.body)).toEqual({ code: 8, message: expect.stringMatching(/(exceeds|inflates past) the 8388608-byte limit/) });
    expect(r.sentAtAnswer).toBeLessThan(100 * MiB);
  });

  it('a gzip bomb (64 MiB of spaces in 64 KiB) still gets 413 and the collector keeps answering', async () => {
    const r = await upload({ ...json, 'content-encoding': 'gzip' }, bytes(64 * MiB).pipe(createGzip()));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({ code: 8, message: expect.stringContaining('inflates past the 8388608-byte limit') });
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it.skipIf(!existsSync('/usr/bin/curl'))('curl --data-binary @bigfile reads the 413 (with and without Expect: 100-continue)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-413-curl-'));
    try {
      const file = join(dir, 'big.json');
      writeFileSync(file, Buffer.alloc(100 * MiB, 0x20));
      for (const extra of [[], ['-H', 'Expect:']]) {
        const { stdout } = await promisify(execFile)('curl', ['-sS', '-o', join(dir, 'out'), '-w', '%{http_code}', '-H', 'content-type: application/json', ...extra, '--data-binary', `@${file}`, `${c.url}/v1/traces`], { timeout: 60_000 });
        expect(stdout, `curl ${extra.join(' ')}`).toBe('413');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
