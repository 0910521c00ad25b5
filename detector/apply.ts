import type { AddCause, LiftCauses } from '../core/enforcement/cause.ts';
import type { Enforcement } from './enforcement.ts';

/** Carries out a decision's causes on the revocation list: adds, then lifts (each step decides one or the other per entity). */
export async function applyCauses(enforcement: Pick<Enforcement, 'addCause' | 'removeCauses'>, d: { add: readonly AddCause[]; lift: readonly LiftCauses[] }): Promise<void> {
  for (const a of d.add) await enforcement.addCause(a.kind, a.id, a.cause, a.actor);
  for (const l of d.lift) {
    const only = l.only;
    await enforcement.removeCauses(l.kind, l.id, only ? (c) => c.source === only.source && c.ref === only.ref : () => true, { actor: l.actor, reason: l.reason, source: l.source });
  }
}
