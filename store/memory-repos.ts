import { firingKey, type Firing } from '../core/quota/step.ts';
import type { EnforcementRepo, LoggedChange } from './enforcement-repo.ts';

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
    async record(f: Firing): Promise<void> {
      firings.push(f);
    },
  };
}

/** A revocation list change log in memory (starts empty). */
export function createMemoryEnforcementRepo(): EnforcementRepo & { changes: LoggedChange[] } {
  const changes: LoggedChange[] = [];
  return {
    changes,
    async append(c: LoggedChange): Promise<void> {
      changes.push(c);
    },
    async loadAll(): Promise<LoggedChange[]> {
      return [...changes];
    },
    async history(kind: string, id: string, limit = 200): Promise<LoggedChange[]> {
      return changes.filter((c) => c.kind === kind && c.id === id).reverse().slice(0, limit);
    },
  };
}
