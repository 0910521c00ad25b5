import { StoreError } from '../store/port.ts';

/**
 * Rows the store cannot parse: only these are poison, set aside in spool/dead. Every other failure (a full disk,
 * too many parts, a timeout, the network, even a statement the store refuses) is not the rows' fault: the batch
 * waits in the spool, and once the spool is full new requests get 503 with Retry-After.
 */
export const isMalformed = (err: unknown): boolean => err instanceof StoreError && err.kind === 'malformed';

/**
 * Stores rows with `store` and returns those the store cannot parse, found by halving the batch, so one bad row
 * does not cost the rows beside it. Throws on any other failure; halves stored before that are deduplicated
 * when the batch is retried. `onPoison` hears about each row set aside.
 */
export async function storeOrIsolate<R>(rows: readonly R[], store: (rows: readonly R[]) => Promise<void>, onPoison: (row: R, err: unknown) => void): Promise<R[]> {
  try {
    await store(rows);
    return [];
  } catch (err) {
    if (!isMalformed(err)) throw err;
    if (rows.length === 1) {
      onPoison(rows[0]!, err);
      return [...rows];
    }
    const mid = Math.ceil(rows.length / 2);
    return [...(await storeOrIsolate(rows.slice(0, mid), store, onPoison)), ...(await storeOrIsolate(rows.slice(mid), store, onPoison))];
  }
}
