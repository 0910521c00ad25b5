import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Decision, EntityRef } from '../core/enforcement/decide.ts';
import type { Entry } from '../core/enforcement/types.ts';
import { decideAdmission, worstCaseUsage, type Amounts, type LimitCheck } from '../core/quota/admission.ts';
import { worstCaseCost } from '../core/quota/admission-cost.ts';
import type { Limits } from '../core/quota/evaluate.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import type { Outcome } from '../core/errors.ts';
import type { AdmissionUsage } from './reservations-usage.ts';
import { createReservationLedger, type Hold, type Reservation } from './reservations.ts';
import { entityUnder, storedUsage } from './reservations-rows.ts';
import type { ReservationsPersistence } from './reservations-persist.ts';

export interface AdmissionSettings {
  defaultTtlMs: number;
  maxTtlMs: number;
  /** Assumed when the gateway does not say (documented as the conservative default). */
  defaultInputTokens: number;
  defaultMaxOutputTokens: number;
}

export interface AdmissionRequest {
  entities: readonly EntityRef[];
  estimate: { model: string; provider?: string | undefined; input_tokens?: number | undefined; max_output_tokens?: number | undefined };
  ttlMs?: number | undefined;
}

export type AdmissionAnswer =
  | { decision: 'allow'; reservationId?: string; ttlMs: number; expiresAt?: number; remaining?: Amounts; reserved: Amounts; stale: boolean }
  | {
      decision: 'deny' | 'throttle';
      ttlMs: 0;
      entity: EntityRef | null;
      reason: string;
      source: string;
      policy?: string;
      resetsAt?: string;
      retryAfterMs?: number;
      /** Set when the revocation list refused (forward-auth's own decision, for its headers). */
      list?: Exclude<Decision, { allowed: true }>;
    };

export interface AdmissionDeps {
  policies: { active(): readonly Policy[]; limitsFor(policy: Policy, entity: string): Limits };
  /** The revocation list's answer for these entities (forward-auth: revoked, throttled, stale). */
  listCheck: (entities: readonly EntityRef[]) => { decision: Decision };
  lookup: (kind: string, id: string) => Entry | undefined;
  pricer: { price(i: PriceInput): PriceResult };
  usage: AdmissionUsage;
  persistence?: ReservationsPersistence | undefined;
  settings: AdmissionSettings;
  now: () => number;
  logger: Logger;
}

const blocking = (p: Policy): 'revoke' | 'throttle' | undefined => (p.action.type === 'alert' ? undefined : p.action.type);

/**
 * Admission with reservations: before a call, its worst case is checked against every hard limit that applies and
 * reserved, in one synchronous step (docs/admission.md). Usage stored with the reservation's id commits it (the
 * actual usage counts, the rest is freed); a release frees it; its ttl frees it otherwise.
 */
export function createAdmission(d: AdmissionDeps) {
  const ledger = createReservationLedger();
  const persist = d.persistence;
  // Ids: a random prefix per process and a counter (a random draw per admission costs more than the rest of it).
  const idPrefix = `rsv_${randomBytes(9).toString('base64url')}`;
  let seq = 0;

  // Gateways send the same few estimates over and over; a price holds for the minute it was computed in (a dated
  // price or an override taking effect is seen within a minute).
  const prices = new Map<string, ReturnType<typeof worstCaseCost>>();
  let pricesMinute = -1;
  function priced(model: string, provider: string, inputTokens: number, maxOutputTokens: number, now: number): ReturnType<typeof worstCaseCost> {
    const minute = Math.floor(now / 60_000);
    if (minute !== pricesMinute || prices.size > 10_000) {
      prices.clear();
      pricesMinute = minute;
    }
    const key = `${provider}\u0000${model}\u0000${inputTokens}\u0000${maxOutputTokens}`;
    let p = prices.get(key);
    if (!p) prices.set(key, (p = worstCaseCost(d.pricer, { model, provider, inputTokens, maxOutputTokens }, now)));
    return p;
  }

  function expire(now: number): void {
    for (const r of ledger.expire(now)) persist?.changed(r, 'expired', now);
  }

  /** The hard limits of the call's entities, with their usage and what others hold. */
  function checksFor(entities: readonly EntityRef[], now: number): LimitCheck[] {
    const checks: LimitCheck[] = [];
    for (const policy of d.policies.active()) {
      const action = blocking(policy);
      if (!action) continue;
      for (const e of entities) {
        if (e.kind !== policy.scope) continue;
        // Over its limit, a throttling policy's throttle governs (the list check above applied it), not its limit.
        if (action === 'throttle' && d.lookup(e.kind, e.id)?.causes.some((c) => c.source === 'quota' && c.ref === policy.name)) continue;
        const { used, window, known } = d.usage.usedFor(policy, e.kind, e.id, now);
        const reserved = ledger.heldFor(policy.name, e.kind, e.id) ?? {};
        // An entity matches a `match` policy or not by its usage's attributes: unknown until it has usage (or holds).
        if (Object.keys(policy.match).length > 0 && !known && Object.keys(reserved).length === 0) continue;
        checks.push({ policy: policy.name, action, entity: e, limits: d.policies.limitsFor(policy, e.id), used, reserved, resetsAt: policy.period.kind === 'rolling' ? undefined : window.end });
      }
    }
    return checks;
  }

  function commit(r: Reservation, now: number, actual: 'stored' | 'unknown'): void {
    // Without the stored rows in hand (a detector in its own process), the held worst case stays counted until the
    // next tick has read the actual usage: more than the truth for a moment, never less.
    if (actual === 'unknown') for (const h of r.holds) d.usage.add(h.policy, h.kind, h.id, now, h.amounts);
    persist?.changed(r, 'committed', now);
  }

  return {
    /** One admission: the list's answer first, then every hard limit; reserves the worst case when allowed. */
    admit(req: AdmissionRequest): Outcome<AdmissionAnswer> {
      const now = d.now();
      expire(now);
      const list = d.listCheck(req.entities).decision;
      if (!list.allowed) {
        const { denial } = list;
        return {
          ok: true,
          value: {
            decision: denial.decision,
            ttlMs: 0,
            entity: denial.entity,
            reason: denial.reason,
            source: denial.source,
            ...(denial.policy !== undefined ? { policy: denial.policy } : {}),
            ...(denial.resets_at !== undefined ? { resetsAt: denial.resets_at } : {}),
            ...(list.status === 429 ? { retryAfterMs: list.retryAfterMs } : {}),
            list,
          },
        };
      }
      if (!d.usage.evaluated && d.policies.active().some((p) => blocking(p) !== undefined)) {
        // Right after a start nothing is known of what was used: a hard limit cannot be kept, so nothing passes.
        return { ok: true, value: { decision: 'deny', ttlMs: 0, entity: null, reason: 'usage not read yet since tollkeeper started (the first detector tick is under way)', source: 'staleness' } };
      }
      const s = d.settings;
      const inputTokens = req.estimate.input_tokens ?? s.defaultInputTokens;
      const maxOutputTokens = req.estimate.max_output_tokens ?? s.defaultMaxOutputTokens;
      const checks = checksFor(req.entities, now);
      let costUsd = 0;
      if (checks.some((c) => c.limits.cost_usd !== undefined)) {
        const cost = priced(req.estimate.model, req.estimate.provider ?? '', inputTokens, maxOutputTokens, now);
        if (!cost.ok) return { ok: false, code: 'unpriced_model', errors: [`body.estimate.model: ${cost.reason}`] };
        costUsd = cost.costUsd;
      }
      const need = worstCaseUsage({ inputTokens, maxOutputTokens, costUsd });
      const decided = decideAdmission(checks, need);
      if (decided.decision !== 'allow') {
        return {
          ok: true,
          value: {
            decision: decided.decision,
            ttlMs: 0,
            entity: decided.entity,
            reason: decided.reason,
            source: 'quota',
            policy: decided.policy,
            ...(decided.resetsAt !== undefined ? { resetsAt: new Date(decided.resetsAt).toISOString() } : {}),
          },
        };
      }
      const ttlMs = Math.min(s.maxTtlMs, Math.max(1000, req.ttlMs ?? s.defaultTtlMs));
      const reserved: Amounts = {};
      const holds: Hold[] = checks.map((c) => {
        const amounts: Amounts = {};
        for (const dim of Object.keys(c.limits) as (keyof Amounts)[]) {
          const v = need[dim] ?? 0;
          if (v > 0) amounts[dim] = reserved[dim] = v;
        }
        return { policy: c.policy, kind: c.entity.kind, id: c.entity.id, amounts };
      }).filter((h) => Object.keys(h.amounts).length > 0);
      const answer = { decision: 'allow' as const, ttlMs, reserved, stale: list.stale, ...(checks.length > 0 ? { remaining: decided.remaining } : {}) };
      if (holds.length === 0) return { ok: true, value: answer };
      const r: Reservation = { id: `${idPrefix}${(++seq).toString(36)}`, holds, createdAt: now, expiresAt: now + ttlMs };
      ledger.add(r);
      persist?.changed(r, 'open', now);
      return { ok: true, value: { ...answer, reservationId: r.id, expiresAt: r.expiresAt } };
    },

    /** Frees a reservation; false when it is not open (unknown, committed, released or expired). */
    release(id: string): boolean {
      const now = d.now();
      expire(now);
      const r = ledger.take(id);
      if (r) persist?.changed(r, 'released', now);
      return r !== undefined;
    },

    /**
     * Rows the collector stored in this process: their usage counts from now on (until a tick has read it), and a
     * row carrying a reservation id commits that reservation.
     */
    stored(lines: readonly string[]): void {
      const enforcing = d.policies.active().filter((p) => blocking(p) !== undefined);
      if (enforcing.length === 0 && ledger.size === 0) return;
      const now = d.now();
      for (const line of lines) {
        const u = storedUsage(line);
        if (!u) continue;
        for (const p of enforcing) {
          const id = entityUnder(p, u);
          if (id !== undefined) d.usage.add(p.name, p.scope, id, u.time, u.amounts);
        }
        if (u.reservationId !== '') {
          const r = ledger.take(u.reservationId);
          if (r) commit(r, now, 'stored');
        }
      }
    },

    /** Reservations whose usage another process stored (found in the store by their id). */
    committedElsewhere(ids: Iterable<string>): void {
      const now = d.now();
      for (const id of ids) {
        const r = ledger.take(id);
        if (r) commit(r, now, 'unknown');
      }
    },

    /** Puts back reservations rebuilt from the store at start. */
    restore(rs: readonly Reservation[]): void {
      for (const r of rs) if (!ledger.get(r.id)) ledger.add(r);
    },

    expire: () => expire(d.now()),
    openIds: (): string[] => [...ledger.open()].map((r) => r.id),
    oldestOpen: (): number | undefined => {
      let min: number | undefined;
      for (const r of ledger.open()) if (min === undefined || r.createdAt < min) min = r.createdAt;
      return min;
    },
    get size(): number {
      return ledger.size;
    },
  };
}
export type Admission = ReturnType<typeof createAdmission>;
