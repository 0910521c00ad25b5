import { detect, emptyDetectorState } from './detect.ts';
import type { DetectInput } from './detect.ts';
import { reconcileIncidents } from './incidents.ts';
import type { ReconcileOptions } from './incidents.ts';
import type { AnomalyConfig, Finding, Incident } from './types.ts';

/** One tick's input, as the tick loop (or a replay) would assemble it. */
export type ReplayTick = Omit<DetectInput, 'config'>;

export interface ReplayIncident extends Incident {
  /** First tick at which the incident was critical, null if it never was. */
  criticalAt: number | null;
  /**
   * First tick at which the incident was open. An incident that resolved and came back with the same onset keeps
   * its id, and `detectedAt` then tells the second detection; this keeps the first.
   */
  flaggedAt?: number;
}

export interface ReplayResult {
  /** Every incident opened during the replay, in its last state (resolvedAt null when still open). */
  incidents: ReplayIncident[];
  /** Every finding with the tick it came from. */
  findings: Array<Finding & { at: number }>;
}

/** Run detection and the incident lifecycle over a sequence of ticks; pure, so replays are reproducible. */
export function replayDetection(ticks: Iterable<ReplayTick>, config: AnomalyConfig, opts: Partial<ReconcileOptions> = {}): ReplayResult {
  let state = emptyDetectorState();
  let open: Incident[] = [];
  const all = new Map<string, ReplayIncident>();
  const findings: Array<Finding & { at: number }> = [];
  for (const tick of ticks) {
    const r = detect(state, { ...tick, config });
    state = r.state;
    for (const f of r.findings) findings.push({ ...f, at: tick.now });
    const rec = reconcileIncidents(open, r.findings, tick.now, { ...opts, held: r.held });
    for (const inc of [...rec.opened, ...rec.updated, ...rec.resolved]) {
      const prev = all.get(inc.id);
      const criticalAt = prev?.criticalAt ?? (inc.severity === 'critical' ? tick.now : null);
      all.set(inc.id, { ...inc, criticalAt, flaggedAt: prev?.flaggedAt ?? inc.detectedAt });
    }
    open = rec.open;
  }
  return { incidents: [...all.values()], findings };
}
