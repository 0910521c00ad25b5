// Where a write's time goes, measured from outside: wraps the store port's insert/query of one app and
// chdb's Session.queryAsync / queryBindAsync (the engine's part, which runs off the main thread).
import { Session } from 'chdb';
import type { ClickHouse } from '../../store/port.ts';

export interface Timed {
  calls: number;
  ms: number;
}

type AsyncFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;

export interface StoreTiming {
  /** Totals since the last reset, by label. */
  snapshot(): Record<string, Timed>;
  reset(): void;
  restore(): void;
}

function engineLabel(sqlHead: string): string {
  const m = /\bINSERT INTO\s+(\S+)/i.exec(sqlHead);
  if (!m) return 'engine query';
  return /usage_events`?$/.test(m[1]!) ? 'engine insert' : `engine insert ${m[1]!.replaceAll('`', '')}`;
}

export function timeStore(store: ClickHouse): StoreTiming {
  let totals: Record<string, Timed> = {};
  const add = (label: string, ms: number) => {
    const t = (totals[label] ??= { calls: 0, ms: 0 });
    t.calls++;
    t.ms += ms;
  };
  const restores: (() => void)[] = [];
  function wrap(target: object, method: string, label: (args: unknown[]) => string, syncLabel?: string): void {
    const holder = target as Record<string, AsyncFn>;
    const original = holder[method]!;
    holder[method] = function (this: unknown, ...args: unknown[]) {
      const start = performance.now();
      const p = original.apply(this, args);
      if (syncLabel) add(syncLabel, performance.now() - start);
      const done = () => add(label(args), performance.now() - start);
      p.then(done, done);
      return p;
    };
    restores.push(() => (holder[method] = original));
  }
  wrap(store, 'insert', (a) => `store.insert ${String(a[0])}`);
  wrap(store, 'insertEncoded', (a) => `store.insert ${String(a[0])}`);
  wrap(store, 'query', (a) => `store.query ${(a[2] as { tag?: string } | undefined)?.tag ?? 'untagged'}`);
  const proto = Session.prototype as unknown as object;
  // queryAsync carries inserts of rows as SQL text; insert the collector's encoded rows; queryBindAsync the
  // parameterized reads.
  wrap(proto, 'queryAsync', (a) => engineLabel(String(a[0]).slice(0, 4096)), 'main thread: native call (sync part)');
  wrap(proto, 'insert', (a) => engineLabel(`INSERT INTO ${(a[0] as { table: string }).table}`), 'main thread: native call (sync part)');
  wrap(proto, 'queryBindAsync', () => 'engine query (bound params)');
  return {
    snapshot: () => structuredClone(totals),
    reset: () => (totals = {}),
    restore: () => restores.reverse().forEach((r) => r()),
  };
}
