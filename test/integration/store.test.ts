import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../store/port.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ startLoop: false });
});
afterAll(async () => {
  await t.close({ cleanup: true });
});

describe('store adapter', () => {
  it('classifies errors about our SQL as not retriable, on both engines', async () => {
    const err = await t.app.store.query('SELECT no_such_column FROM system.one').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).retriable).toBe(false);
    const missing = await t.app.store.query(`SELECT * FROM ${t.app.store.table('no_such_table')}`).catch((e: unknown) => e);
    expect((missing as StoreError).retriable).toBe(false);
  });

  it('passes typed parameters, never spliced text', async () => {
    const hostile = "x' OR 1=1 --";
    const rows = await t.app.store.query<{ v: string }>('SELECT {v:String} AS v', { v: hostile });
    expect(rows).toEqual([{ v: hostile }]);
  });

  it('returns 64-bit integers as numbers on both engines', async () => {
    const rows = await t.app.store.query<{ n: number }>('SELECT toUInt64(12345678901) AS n');
    expect(rows[0]!.n).toBe(12345678901);
  });
});
