import { classifyStoreError } from '../../store/errors.ts';
import { StoreError } from '../../store/port.ts';
import { USAGE_COLUMNS, type UsageRepo } from '../../store/usage-repo.ts';

/** chdb's insert failure with a ClickHouse error code (243 not enough space, 241 memory limit), as chdb throws it. */
export function chdbInsertError(code: number): Error {
  const e = Object.assign(new Error(`Code: ${code}. DB::Exception: injected`), { code: 'CHDB_INSERT', clickhouseCode: code });
  e.name = 'ChdbInsertError';
  return e;
}

/** A failed system call as Node throws it (ENOSPC, ECONNRESET, …). */
export const systemError = (code: string, syscall = 'write'): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code, syscall });

/** The fields of an encoded row that tests pick poison events by. */
export interface RowFields {
  eventId: string;
  apiKey: string;
}

const EVENT_ID = USAGE_COLUMNS.indexOf('event_id');
const API_KEY = USAGE_COLUMNS.indexOf('api_key');

function fieldsOf(line: string): RowFields {
  const row = JSON.parse(line) as string[];
  return { eventId: row[EVENT_ID]!, apiKey: row[API_KEY]! };
}

/** Switches for fault injection; flip them at any time while a writer runs. */
export interface Faults {
  /** Every call fails before it reaches the store, retriably (the store is down). */
  down: boolean;
  /** Inserts land, then the call fails retriably, as when the response is lost on the way back. */
  loseAcks: boolean;
  /** When > 0, every n-th call fails retriably before it reaches the store (a flapping store). */
  failEvery: number;
  /** Events the store refuses for good: an insert holding one fails with a non-retriable StoreError. */
  refuse: (e: RowFields) => boolean;
  /** While set, calls wait for it (a slow store); resolve it to let them through. */
  hold: Promise<void> | undefined;
  /**
   * While set, inserts fail with this error as the ClickHouse client, chdb or Node throws it (e.g. a
   * ClickHouseError with code '243', type 'NOT_ENOUGH_SPACE'), classified as the store adapter does.
   */
  insertError: (() => unknown) | undefined;
}

/**
 * The real UsageRepo with injected failures: the data still goes to the real ClickHouse, and only the
 * answers the writer sees are disturbed. This is fault injection, not a mock of the store.
 */
export function faultyRepo(real: UsageRepo): { repo: UsageRepo; faults: Faults; calls: { insert: number; existingIds: number; failed: number; maxIdsPerLookup: number } } {
  const faults: Faults = { down: false, loseAcks: false, failEvery: 0, refuse: () => false, hold: undefined, insertError: undefined };
  const calls = { insert: 0, existingIds: 0, failed: 0, maxIdsPerLookup: 0 };
  let n = 0;

  async function before(): Promise<void> {
    if (faults.hold) await faults.hold;
    n++;
    if (faults.down || (faults.failEvery > 0 && n % faults.failEvery === 0)) {
      calls.failed++;
      throw new StoreError('injected: store unavailable', true);
    }
  }

  const repo: UsageRepo = {
    ...real,
    async existingIds(ids, minTime, maxTime) {
      calls.existingIds++;
      calls.maxIdsPerLookup = Math.max(calls.maxIdsPerLookup, ids.length);
      await before();
      return real.existingIds(ids, minTime, maxTime);
    },
    async insert() {
      throw new Error('the writer inserts encoded rows (insertRows)');
    },
    async insertRows(rows) {
      calls.insert++;
      await before();
      if (rows.some((line) => faults.refuse(fieldsOf(line)))) {
        calls.failed++;
        throw new StoreError('injected: the store cannot parse this batch', 'malformed');
      }
      if (faults.insertError) {
        calls.failed++;
        throw classifyStoreError(faults.insertError());
      }
      await real.insertRows(rows);
      if (faults.loseAcks) {
        calls.failed++;
        throw new StoreError('injected: insert landed but the answer was lost', true);
      }
    },
  };
  return { repo, faults, calls };
}
