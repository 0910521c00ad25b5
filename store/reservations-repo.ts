import type { ClickHouse } from './port.ts';
import { chTime, fromChTime } from './time.ts';

export type ReservationState = 'open' | 'committed' | 'released' | 'expired';

/** One change of a reservation as kept in `reservations`; `holds` is the JSON of what it holds. */
export interface ReservationRow {
  id: string;
  state: ReservationState;
  holds: string;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

/** Admission reservations kept across restarts, and the usage rows that committed them. */
export function createReservationsRepo(ch: ClickHouse) {
  const table = ch.table('reservations');
  const events = ch.table('usage_events');
  return {
    async insert(rows: readonly ReservationRow[]): Promise<void> {
      if (rows.length === 0) return;
      await ch.insert(
        'reservations',
        rows.map((r) => ({ id: r.id, state: r.state, holds: r.holds, created_at: chTime(r.createdAt), expires_at: chTime(r.expiresAt), updated_at: chTime(r.updatedAt) })),
        { tag: 'reservations.insert' },
      );
    },
    /** Reservations whose latest state is open and whose time is not up at `now`. */
    async loadOpen(now: number): Promise<ReservationRow[]> {
      // Aliases differ from the column names: an alias equal to a column would shadow it in the WHERE clause.
      const rows = await ch.query<{ id: string; r_state: ReservationState; r_holds: string; r_created: string; r_expires: string; r_updated: string }>(
        `SELECT id, argMax(state, updated_at) AS r_state, argMax(holds, updated_at) AS r_holds, min(created_at) AS r_created,
                argMax(expires_at, updated_at) AS r_expires, max(updated_at) AS r_updated
         FROM ${table} WHERE expires_at > {now:DateTime64(3)} GROUP BY id HAVING r_state = 'open'`,
        { now: chTime(now) },
        { tag: 'reservations.load' },
      );
      return rows.map((r) => ({ id: r.id, state: r.r_state, holds: r.r_holds, createdAt: fromChTime(r.r_created), expiresAt: fromChTime(r.r_expires), updatedAt: fromChTime(r.r_updated) }));
    },
    /** Which of these reservations have usage stored (events ending at or after `since`, to bound the scan). */
    async committedIds(ids: readonly string[], since: number): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await ch.query<{ reservation_id: string }>(
        `SELECT DISTINCT reservation_id FROM ${events} WHERE time >= {since:DateTime64(3)} AND reservation_id IN {ids:Array(String)}`,
        { since: chTime(since), ids },
        { tag: 'reservations.committed' },
      );
      return new Set(rows.map((r) => r.reservation_id));
    },
  };
}
export type ReservationsRepo = ReturnType<typeof createReservationsRepo>;
