import { firingKey, type Firing } from '../core/quota/step.ts';
import type { EnforcementRepo, LoggedChange } from './enforcement-repo.ts';
import { incidentFromRow, incidentToRow, matchesIncidentFilter, type IncidentFilter, type IncidentRow } from './incident-rows.ts';

// In-memory twins of the repositories the detector writes to: replay runs the live jobs against them, so it acts
// on nothing, and shows what was written.

/** Fired thresholds kept in memory, in the order they fired. */
export function createMemoryFiringsRepo() {
  const firings: Firing[] = [];
  return {
    firings,
    async loadKeys(sinceMs: number): Promise<Set<string>> {
      return new Set(firings.filter((f) => f.firedAt >= sinceMs).map(firingKey));
    },
    async record(fs: readonly Firing[]): Promise<void> {
      firings.push(...fs);
    },
  };
}

/** A revocation list change log in memory (starts empty). */
export function createMemoryEnforcementRepo(): EnforcementRepo & { changes: LoggedChange[] } {
  const changes: LoggedChange[] = [];
  return {
    changes,
    async append(cs: readonly LoggedChange[]): Promise<void> {
      changes.push(...cs);
    },
    async loadAll(): Promise<LoggedChange[]> {
      return [...changes];
    },
    async history(kind: string, id: string, limit = 200): Promise<LoggedChange[]> {
      return changes.filter((c) => c.kind === kind && c.id === id).reverse().slice(0, limit);
    },
  };
}

/**
 * Incidents in memory, newest version of each (as the store's FINAL read), with the store's filters; each passes
 * through the stored row shape, so what replay shows is what the store would have read back.
 */
export function createMemoryIncidentRepo() {
  const incidents = new Map<string, { row: IncidentRow; version: number }>();
  return {
    /** Every incident in its last state, in the order first stored. */
    all: (): IncidentRow[] => [...incidents.values()].map((v) => v.row),
    async saveIncidents(rows: readonly IncidentRow[], version: number): Promise<void> {
      for (const row of rows) {
        const had = incidents.get(row.id);
        if (!had || had.version <= version) incidents.set(row.id, { row: incidentFromRow(incidentToRow(row, version)), version });
      }
    },
    async listIncidents(filter: IncidentFilter): Promise<IncidentRow[]> {
      return [...incidents.values()]
        .map((v) => v.row)
        .filter((i) => matchesIncidentFilter(i, filter))
        .sort((a, b) => b.detectedAt - a.detectedAt)
        .slice(0, filter.limit);
    },
    async getIncident(id: string): Promise<IncidentRow | undefined> {
      return incidents.get(id)?.row;
    },
  };
}
