import { median, quantile } from 'simple-statistics';
import type { EntityKind } from '../usage/types.ts';
import { METRICS } from './types.ts';
import type { Baseline, EntityObservation, Metric, PeerBaseline } from './types.ts';

export interface PeerOptions {
  /** Quantile of peers' typical rates taken as "what a normal entity of this kind may do" (default 0.95). */
  quantile?: number;
  /** Fewer eligible peers than this → no peer baseline (default 5). */
  minPeers?: number;
  /** Baselines with fewer active hours are not peers (default 6). */
  minActiveHours?: number;
  /** Cap of the quantile at this multiple of the peers' median, so one heavy peer cannot hide an attack (default 10). */
  maxOverMedian?: number;
  /** Lower bound of the peer spread as a fraction of the peer typical (default 0.25). */
  minSpreadRatio?: number;
}

interface Sample {
  rate: Record<Metric, number>;
  unit: Record<Metric, number>;
}

function summarize(kind: EntityKind, samples: Sample[], opts: PeerOptions): PeerBaseline | null {
  const q = opts.quantile ?? 0.95;
  const cap = opts.maxOverMedian ?? 10;
  const minSpread = opts.minSpreadRatio ?? 0.25;
  if (samples.length < (opts.minPeers ?? 5)) return null;
  const metrics = {} as PeerBaseline['metrics'];
  for (const m of METRICS) {
    const rates = samples.map((s) => s.rate[m]);
    const med = median(rates);
    // With few peers the quantile would be set by the top one or two (possibly the attacker): stay below them.
    const high = quantile(rates, Math.min(q, 1 - 2 / rates.length));
    const typical = med > 0 ? Math.min(high, med * cap) : high;
    const units = samples.map((s) => s.unit[m]).filter((u) => u > 0);
    // σ from the width of the upper tail (median → quantile), as if it were normal; never below minSpread × typical.
    const spread = Math.max((typical - med) / 1.645, minSpread * typical);
    metrics[m] = { typical, spread, unit: units.length > 0 ? median(units) : 0, median: med };
  }
  return { kind, peers: samples.length, metrics };
}

/** Peer baseline from established baselines of one kind (each contributes its typical busy-hour rate). */
export function buildPeerBaseline(kind: EntityKind, baselines: Iterable<Baseline>, opts: PeerOptions = {}): PeerBaseline | null {
  const minActive = opts.minActiveHours ?? 6;
  const samples: Sample[] = [];
  for (const b of baselines) {
    if (b.kind !== kind || b.activeHours < minActive) continue;
    const rate = {} as Record<Metric, number>;
    const unit = {} as Record<Metric, number>;
    for (const m of METRICS) {
      rate[m] = b.metrics[m].typical.mean;
      unit[m] = b.metrics[m].unit;
    }
    samples.push({ rate, unit });
  }
  return summarize(kind, samples, opts);
}

/**
 * Peer baseline from recent observations of one kind, for kinds without long histories (conversations) or a
 * fresh install: each entity contributes its mean rate over its active span (first to last active minute).
 */
export function peerBaselineFromObservations(kind: EntityKind, observations: Iterable<EntityObservation>, opts: PeerOptions = {}): PeerBaseline | null {
  const samples: Sample[] = [];
  for (const o of observations) {
    if (o.kind !== kind) continue;
    const n = o.series.requests.length;
    let first = -1;
    let last = -1;
    for (let i = 0; i < n; i++) {
      if (METRICS.some((m) => (o.series[m][i] ?? 0) > 0)) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) continue;
    const span = last - first + 1;
    const rate = {} as Record<Metric, number>;
    const unit = {} as Record<Metric, number>;
    let requests = 0;
    for (let i = first; i <= last; i++) requests += o.series.requests[i] ?? 0;
    for (const m of METRICS) {
      let total = 0;
      for (let i = first; i <= last; i++) total += o.series[m][i] ?? 0;
      rate[m] = total / span;
      unit[m] = m === 'requests' || m === 'tool_calls' ? 1 : requests > 0 ? total / requests : 0;
    }
    samples.push({ rate, unit });
  }
  return summarize(kind, samples, opts);
}
