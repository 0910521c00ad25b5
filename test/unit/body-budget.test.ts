// The budget of request bodies held at once counts what is buffered (inflated), chunk by chunk, and refuses the
// chunk that would pass it while other requests hold some; a refused body gives back everything it held.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../collector/body-budget.ts';
import { BUSY, readBody } from '../../collector/read-body.ts';

const LIMIT = 1024 * 1024;
const chunks = (...sizes: number[]) => Readable.from(sizes.map((n, i) => Buffer.alloc(n, 0x61 + i)));

describe('BodyBudget', () => {
  it('refuses a share past the budget only while another share holds bytes', () => {
    const budget = new BodyBudget(100);
    const alone = budget.share();
    // Alone, a request may hold more than the budget: otherwise a body larger than it would be refused forever.
    expect(alone.take(150)).toBe(true);
    const other = budget.share();
    expect(other.take(1)).toBe(false);
    expect(budget.refused).toBe(1);
    alone.release();
    expect(other.take(60)).toBe(true);
    expect(budget.share().take(41)).toBe(false);
    expect(budget.held).toBe(60);
    other.release();
    other.release();
    expect(budget.held).toBe(0);
    expect(budget.peak).toBe(150);
  });
});

describe('readBody with a budget share', () => {
  it('counts every buffered byte and keeps them held after the body is read', async () => {
    const budget = new BodyBudget(1000);
    const share = budget.share();
    const r = await readBody(chunks(300, 200), undefined, LIMIT, 500, share);
    expect(r).toMatchObject({ ok: true });
    expect(share.bytes).toBe(500);
    expect(budget.held).toBe(500);
    share.release();
    expect(budget.held).toBe(0);
  });

  it('counts a gzipped body by its inflated bytes', async () => {
    const inflated = Buffer.alloc(200_000, 0x7b);
    const zipped = gzipSync(inflated);
    const budget = new BodyBudget(10 * 1024 * 1024);
    const share = budget.share();
    const r = await readBody(Readable.from([zipped]), 'gzip', LIMIT, zipped.length, share);
    expect(r.ok && r.bytes.equals(inflated)).toBe(true);
    expect(budget.held).toBe(inflated.length);
  });

  it('answers 429 at the chunk that would pass the budget and gives back what the body held', async () => {
    const budget = new BodyBudget(1000);
    const other = budget.share();
    other.take(600);
    const share = budget.share();
    // 300 fit beside the 600 held by the other request; the next 300 would not.
    const r = await readBody(chunks(300, 300, 300), undefined, LIMIT, 900, share);
    // Its declared length bounds what is still to come: it can be dropped on a kept connection.
    expect(r).toEqual({ ...BUSY, bounded: true });
    expect(r.ok === false && r.status === 429 && r.retryAfterSeconds).toBe(1);
    expect(share.bytes).toBe(0);
    expect(budget.held).toBe(600);
    expect(budget.refused).toBe(1);
  });

  it('refuses a gzipped body by its inflated bytes, not its compressed size', async () => {
    const zipped = gzipSync(Buffer.alloc(500_000, 0x20));
    const budget = new BodyBudget(100_000);
    budget.share().take(1);
    const share = budget.share();
    const r = await readBody(Readable.from([zipped]), 'gzip', LIMIT, undefined, share);
    expect(zipped.length).toBeLessThan(100_000);
    // Without a declared length (chunked) the rest is unbounded: the connection will be closed after the answer.
    expect(r).toEqual(BUSY);
    expect(budget.held).toBe(1);
  });

  it('reserves nothing for a declared length that is not sent', async () => {
    const budget = new BodyBudget(1000);
    const stalled = budget.share();
    const stream = new Readable({ read() {} });
    const pending = readBody(stream, undefined, LIMIT, 900_000, stalled);
    stream.push(Buffer.alloc(10));
    await new Promise((resolve) => setImmediate(resolve));
    expect(budget.held).toBe(10);
    // Another request of 900 bytes still fits: the stalled one holds what it sent, not what it announced.
    const share = budget.share();
    expect(await readBody(chunks(900), undefined, LIMIT, 900, share)).toMatchObject({ ok: true });
    stream.destroy(new Error('client gone'));
    expect(await pending).toMatchObject({ ok: false, status: 400 });
    expect(budget.held).toBe(900);
  });

  it('gives the share back on every other refusal too', async () => {
    const budget = new BodyBudget(1000);
    const tooLarge = budget.share();
    expect(await readBody(chunks(10), undefined, 100, 200, tooLarge)).toMatchObject({ ok: false, status: 413 });
    const overLimit = budget.share();
    expect(await readBody(chunks(60, 60), undefined, 100, undefined, overLimit)).toMatchObject({ ok: false, status: 413 });
    const badEncoding = budget.share();
    expect(await readBody(chunks(10), 'br', LIMIT, 10, badEncoding)).toMatchObject({ ok: false, status: 415 });
    const badGzip = budget.share();
    expect(await readBody(chunks(10), 'gzip', LIMIT, 10, badGzip)).toMatchObject({ ok: false, status: 400 });
    expect(budget.held).toBe(0);
  });
});
