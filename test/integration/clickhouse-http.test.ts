// The ClickHouse HTTP shim (test/helpers/clickhouse-http.ts) speaks what the server store path relies on: the
// store adapter over it queries, inserts both ways and classifies errors the way it does against a server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse } from '../../store/clickhouse.ts';
import { StoreError, type ClickHouse } from '../../store/port.ts';
import { startClickHouseHttp, type ClickHouseHttp } from '../helpers/clickhouse-http.ts';

let shim: ClickHouseHttp;
let store: ClickHouse;
const dir = mkdtempSync(join(tmpdir(), 'tk-shim-test-'));
const open = (password = 'secret', url = shim.url) => openClickHouse({ kind: 'server', url, database: 'shim_test', username: 'default', password });

beforeAll(async () => {
  shim = await startClickHouseHttp({ path: dir, password: 'secret' });
  store = await open();
  await store.command(`CREATE TABLE ${store.table('t')} (id String, n UInt64, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY id`);
});
afterAll(async () => {
  await store.close();
  await shim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(query: string, params = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${shim.url}/?default_format=JSONEachRow${params}`, { method: 'POST', body: query, headers: { 'x-clickhouse-user': 'default', 'x-clickhouse-key': 'secret', ...headers } });
  return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('ClickHouse HTTP shim', () => {
  it('carries parameters byte for byte and inserts rows as objects and as encoded lines', async () => {
    const hostile = "tab\there, quote ' back\\slash, newline\n, \u{1F600}";
    await store.insert('t', [{ id: hostile, n: 12345678901, at: '2026-12-04 08:00:00.123' }]);
    await store.insertEncoded('t', ['id', 'n', 'at'], Buffer.from('["b",2,"2026-12-04 08:00:01.456"]\n'));
    expect(await store.query('SELECT id, n, toString(at) AS at FROM shim_test.t WHERE {c:Identifier} = {id:String}', { c: 'id', id: hostile })).toEqual([
      { id: hostile, n: 12345678901, at: '2026-12-04 08:00:00.123' },
    ]);
    expect(await store.query(`SELECT sum(n) AS s FROM ${store.table('t')} WHERE id IN {ids:Array(String)}`, { ids: [hostile, 'b'] })).toEqual([{ s: 12345678903 }]);
  });

  it('answers errors as a server does, and the store classifies them by code', async () => {
    const missing = (await store.query(`SELECT * FROM ${store.table('nope')}`).catch((e: unknown) => e)) as StoreError;
    expect(missing).toMatchObject({ kind: 'refused', code: 60 });
    const bad = (await store.insertEncoded('t', ['id', 'n', 'at'], Buffer.from('["c","not a number","x"]\n')).catch((e: unknown) => e)) as StoreError;
    expect(bad).toBeInstanceOf(StoreError);
    expect(bad.kind).toBe('malformed');
    const denied = (await open('wrong').catch((e: unknown) => e)) as StoreError;
    expect(denied).toMatchObject({ kind: 'refused', code: 516 });
    expect(denied.message).toContain(shim.url);

    const raw = await post('SELECT * FROM shim_test.nope');
    expect([raw.status, raw.code]).toEqual([404, '60']);
    expect(raw.body.toString()).toMatch(/^Code: 60\. DB::Exception: .+\(UNKNOWN_TABLE\) \(version 26\.\d/);
    // What a server refuses, chdb would run: several statements, a placeholder an earlier request left set.
    expect((await post('SELECT 1; SELECT 2')).code).toBe('62');
    expect((await post('SELECT {p:String}', '&param_p=x')).status).toBe(200);
    expect((await post('SELECT {p:String}')).code).toBe('456');
  });

  it('compresses the answer when asked, says the summary, and goes down and up on the same port with its data', async () => {
    const zipped = await post('SELECT count() AS c FROM shim_test.t', '&enable_http_compression=1', { 'accept-encoding': 'gzip' });
    expect(zipped.status).toBe(200);
    // fetch inflates by itself: the header says what came over the wire.
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(JSON.parse(zipped.body.toString())).toEqual({ c: 2 });
    const withRows = await fetch(`${shim.url}/?query=${encodeURIComponent('INSERT INTO shim_test.t (id, n, at) FORMAT JSONEachRow')}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('default:secret').toString('base64')}` },
      body: '{"id":"d","n":4,"at":"2026-12-04 08:00:00"}\n{"id":"e","n":5,"at":"2026-12-04 08:00:00"}\n',
    });
    expect(JSON.parse(withRows.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({ written_rows: '2' });

    await shim.down();
    expect(await store.ping()).toBe(false);
    const down = (await store.query('SELECT 1').catch((e: unknown) => e)) as StoreError;
    expect(down.kind).toBe('unavailable');
    await shim.up();
    expect(await store.ping()).toBe(true);
    expect(await store.query(`SELECT count() AS c FROM ${store.table('t')}`)).toEqual([{ c: 4 }]);
  });
});
