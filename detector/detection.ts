import {
  buildBaseline,
  buildPeerBaseline,
  detect,
  emptyDetectorState,
  entityKey,
  peerBaselineFromObservations,
  reconcileIncidents,
  recordSpend,
  type AnomalyConfig,
  type Baseline,
  type DetectorState,
  type EntityObservation,
  type Incident,
  type PeerBaseline,
  type ReconcileResult,
} from '../core/anomaly/index.ts';
import type { EntityKind } from '../core/usage/types.ts';
import type { AnomalyRepo } from '../store/anomaly-repo.ts';
import type { FreshFeed } from './fresh-feed.ts';
import { DEFAULT_MAX_ENTITIES } from '../core/config/schema-detection.ts';
import { createObservationWindow } from './observation-window.ts';

const HOUR = 3_600_000;
/** Per-minute series the patterns look at (slow drip needs hours). */
export const OBSERVATION_MINUTES = 360;
/** Entities with activity this recently are scored. */
const ACTIVE_MINUTES = 30;
const HISTORY_HOURS = 28 * 24;
const spendOf = (o: EntityObservation): number => o.series.cost_usd.reduce((a, v) => a + v, 0);
/** The kind of an `entityKey`. */
const kindOf = (key: string): string => key.slice(0, key.indexOf('\u0000'));

export interface DetectionOptions {
  repo: Pick<AnomalyRepo, 'observations' | 'observationsOf' | 'minutesSince' | 'histories' | 'withHistory'>;
  config: AnomalyConfig;
  quietMs: number;
  /** Starts of the current quota periods (timezone-aware): spend right after a reset is not an attack. */
  periodResets?: (now: number) => number[];
  /** Wall-clock time one step may spend loading history and building baselines (default 500 ms). */
  baselineBudgetMs?: number;
  /** Sub-minute counters for the sequential tests (the fresh path); without them only closed and current minutes count. */
  fresh?: Pick<FreshFeed, 'input'>;
  /** Entities of one kind held in memory at most (series, baselines); the coldest go first (default DEFAULT_MAX_ENTITIES). */
  maxEntitiesPerKind?: number;
}

/**
 * One detection step over the store as of `now`: per-minute series of active entities → baselines (rebuilt
 * hourly from the hourly history, so a restart loses nothing) → findings → incident changes. No side effects
 * beyond reads: the detector job stores and acts on the result, replay only prints it.
 */
export function createDetection(opts: DetectionOptions) {
  const o = { baselineBudgetMs: 500, maxEntitiesPerKind: DEFAULT_MAX_ENTITIES, ...opts };
  let state: DetectorState = emptyDetectorState();
  const baselines = new Map<string, Baseline>();
  const lastSeen = new Map<string, number>();
  /** Entities whose baseline is still to be built although they have history: judged from a later step on. */
  const deferred = new Set<string>();
  /** Short-lived kinds (conversations) never build baselines: their peers come from the whole observation window. */
  const windowPeers = new Map<EntityKind, { at: number; peer: PeerBaseline | null }>();
  /** Peer baselines built from the entities' own baselines, as of the `baselinesChanged`-th change. */
  const ownPeers = new Map<EntityKind, { changes: number; peer: PeerBaseline | null }>();
  let baselinesChanged = 0;
  // A tenant spike is judged against its keys, so keys are observed whenever tenants are.
  const observedKinds: EntityKind[] = o.config.scopes.includes('tenant') && !o.config.scopes.includes('api_key') ? [...o.config.scopes, 'api_key'] : o.config.scopes;
  // The series stay in memory between steps: a step reads only the last few minutes from the store.
  const window = createObservationWindow({ repo: o.repo, kinds: observedKinds, minutes: OBSERVATION_MINUTES, activeMinutes: ACTIVE_MINUTES, maxPerKind: o.maxEntitiesPerKind });

  async function refreshBaselines(obs: readonly EntityObservation[], now: number): Promise<void> {
    const hour = Math.floor(now / HOUR);
    const stale = new Map<EntityKind, string[]>();
    // Those that spend most first: when the budget below runs out (a cold start, a flood of new ids), the entities
    // that matter are judged against their own history from this step on.
    const bySpend = obs.map((ob) => ({ ob, spend: spendOf(ob) })).sort((a, b) => b.spend - a.spend);
    for (const { ob } of bySpend) {
      const key = entityKey(ob.kind, ob.id);
      // Re-inserted, so the map runs from least to most recently seen.
      lastSeen.delete(key);
      lastSeen.set(key, now);
      const b = baselines.get(key);
      if (b && Math.floor(b.builtAt / HOUR) === hour) continue;
      const list = stale.get(ob.kind);
      if (list) list.push(ob.id);
      else stale.set(ob.kind, [ob.id]);
    }
    // Building baselines reads 4 weeks of hourly history per entity: bounded per step so a cold start with many
    // entities never stalls the loop.
    const deadline = Date.now() + o.baselineBudgetMs;
    deferred.clear();
    for (const [kind, ids] of stale) {
      let i = 0;
      for (; i < ids.length && Date.now() < deadline; i += 100) {
        for (const h of await o.repo.histories(kind, ids.slice(i, i + 100), now, HISTORY_HOURS)) baselines.set(entityKey(kind, h.id), buildBaseline(h, now));
        baselinesChanged++;
      }
      // Out of budget: an entity with history but no baseline yet must not be judged against peers (a big,
      // well-known key would look like an attack right after a restart); one without history is new, and peers apply.
      const missing = ids.slice(i).filter((id) => !baselines.has(entityKey(kind, id)));
      if (missing.length > 0) for (const id of await o.repo.withHistory(kind, missing, now, HISTORY_HOURS, now - 6 * HOUR)) deferred.add(entityKey(kind, id));
    }
    const perKind = new Map<string, number>();
    for (const key of lastSeen.keys()) perKind.set(kindOf(key), (perKind.get(kindOf(key)) ?? 0) + 1);
    for (const [key, seen] of lastSeen) {
      const kind = kindOf(key);
      const n = perKind.get(kind)!;
      // A day unseen, or the least recently seen of a kind over the cap (entities come and go under a flood of ids).
      if (now - seen > 24 * HOUR || n > o.maxEntitiesPerKind) {
        lastSeen.delete(key);
        perKind.set(kind, n - 1);
        if (baselines.delete(key)) baselinesChanged++;
      }
    }
  }

  async function peers(obs: readonly EntityObservation[], now: number): Promise<Map<EntityKind, PeerBaseline>> {
    const out = new Map<EntityKind, PeerBaseline>();
    for (const kind of o.config.scopes) {
      // The peers' figures only change when baselines do (hourly, or as a cold start builds them): not every tick.
      const own = ownPeers.get(kind);
      let p = own && own.changes === baselinesChanged ? own.peer : buildPeerBaseline(kind, baselines.values());
      ownPeers.set(kind, { changes: baselinesChanged, peer: p });
      if (!p) {
        const cached = windowPeers.get(kind);
        if (!cached || now - cached.at > 5 * 60_000) {
          const all = await o.repo.observations([kind], now, OBSERVATION_MINUTES, OBSERVATION_MINUTES, o.maxEntitiesPerKind);
          windowPeers.set(kind, { at: now, peer: peerBaselineFromObservations(kind, all) ?? peerBaselineFromObservations(kind, obs) });
        }
        p = windowPeers.get(kind)!.peer;
      }
      if (p) out.set(kind, p);
    }
    return out;
  }

  return {
    /** Baselines held and entities waiting for theirs (cold start progress). */
    stats: () => ({ baselines: baselines.size, deferred: deferred.size, held: window.size }),
    /** The cached baseline of one entity, if built. */
    baseline: (kind: EntityKind, id: string): Baseline | undefined => baselines.get(entityKey(kind, id)),
    /**
     * History arrived for these entities after their baselines were built (a migration, a replay): their
     * baselines are rebuilt on the next step instead of at the next hour.
     */
    invalidate(entities: readonly { kind: EntityKind; id: string }[]): void {
      window.invalidate(entities);
      for (const e of entities) if (baselines.delete(entityKey(e.kind, e.id))) baselinesChanged++;
    },
    async step(open: readonly Incident[], now: number): Promise<ReconcileResult & { findings: number; findingLabels: string[]; entitiesScored: number }> {
      // An entity with an open incident stays held whatever the cap: its incident must see it calm down.
      const obs = await window.read(now, open.map((inc) => ({ kind: inc.kind, id: inc.entityId })));
      const fresh = o.fresh ? await o.fresh.input(now) : undefined;
      await refreshBaselines(obs, now);
      const judged = deferred.size > 0 ? obs.filter((ob) => !deferred.has(entityKey(ob.kind, ob.id))) : obs;
      // No calendar quota: the core's default reset (UTC midnight) applies.
      const resets = o.periodResets?.(now);
      const periodResets = resets && resets.length > 0 ? resets : undefined;
      const r = detect(state, { now, observations: judged, baselines, peers: await peers(judged, now), config: o.config, ...(periodResets ? { periodResets } : {}), ...(fresh ? { fresh } : {}) });
      state = r.state;
      const rec = withSpend(reconcileIncidents(open, r.findings, now, { quietMs: o.quietMs, held: r.held }), obs, now);
      return {
        ...rec,
        findings: r.findings.length,
        findingLabels: r.findings.map((f) => `${f.pattern}/${f.severity}`),
        entitiesScored: judged.length,
      };
    },
  };
}
/** Spend from onset to enforcement on every changed incident; the open set carries the same objects. */
function withSpend(rec: ReconcileResult, obs: readonly EntityObservation[], now: number): ReconcileResult {
  const changed = new Map<string, Incident>();
  for (const inc of recordSpend([...rec.opened, ...rec.updated], obs, now)) changed.set(inc.id, inc);
  const pick = (inc: Incident): Incident => changed.get(inc.id) ?? inc;
  return { opened: rec.opened.map(pick), updated: rec.updated.map(pick), resolved: rec.resolved, open: rec.open.map(pick) };
}
export type Detection = ReturnType<typeof createDetection>;
