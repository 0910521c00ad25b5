import type { Amounts } from '../core/quota/admission.ts';
import type { EntityUsage } from '../core/quota/evaluate.ts';
import { periodAt, type PeriodWindow } from '../core/quota/period.ts';
import type { Dimension, Policy } from '../core/quota/policy.ts';
import { holdKey } from './reservations.ts';

interface Evaluation {
  window: PeriodWindow;
  used: Map<string, EntityUsage['usage']>;
}

/** Usage stored since some tick began, per minute of event time, tagged with the tick generation it arrived in. */
interface Slice {
  gen: number;
  minute: number;
  amounts: Amounts;
}

const MINUTE = 60_000;

/**
 * What admission counts as used: the quota job's last evaluation (read from the store each tick) plus the usage
 * stored since that tick began, which the detector learns from memory (the collector's stored rows, or the rows of
 * committed reservations) before the next tick reads it. Usage that arrives while a tick is reading may be counted
 * by both the read and the slices: counted twice until the next tick, never missed.
 */
export function createAdmissionUsage() {
  let current = new Map<string, Evaluation>();
  let next: Map<string, Evaluation> | undefined;
  let gen = 0;
  /** The generation current when the tick being evaluated began: slices older than it are in that tick's reads. */
  let beganAt: number | undefined;
  const slices = new Map<string, Slice[]>();
  let evaluated = false;
  // A calendar period's bounds cost tens of µs to compute (time zones); they hold until the period ends.
  const periods = new Map<string, { spec: Policy['period']; window: PeriodWindow }>();
  function windowOf(policy: Policy, now: number): PeriodWindow {
    if (policy.period.kind === 'rolling') return periodAt(policy.period, now);
    const c = periods.get(policy.name);
    if (c && c.spec === policy.period && now >= c.window.start && now < c.window.end) return c.window;
    const window = periodAt(policy.period, now);
    if (periods.size > 10_000) periods.clear();
    periods.set(policy.name, { spec: policy.period, window });
    return window;
  }

  return {
    /** A tick begins: usage stored from now on may be missing from its reads. */
    begin(): void {
      gen++;
      beganAt = gen;
      next = undefined;
    },
    /** The quota job's reading of one policy in this tick. */
    record(policy: Policy, window: PeriodWindow, usages: readonly EntityUsage[]): void {
      next ??= new Map();
      next.set(policy.name, { window, used: new Map(usages.map((u) => [u.entity, u.usage])) });
    },
    /** The tick read everything: its figures replace the last ones, and what it read is dropped from the slices. */
    commit(): void {
      if (next) {
        current = next;
        evaluated = true;
      }
      next = undefined;
      if (beganAt === undefined) return;
      const keep = beganAt;
      for (const [key, list] of slices) {
        const left = list.filter((s) => s.gen >= keep);
        if (left.length === 0) slices.delete(key);
        else slices.set(key, left);
      }
      beganAt = undefined;
    },
    /** Usage stored (or committed) for one policy and entity, with its event time. */
    add(policy: string, kind: string, id: string, time: number, amounts: Amounts): void {
      const key = holdKey(policy, kind, id);
      const minute = Math.floor(time / MINUTE) * MINUTE;
      let list = slices.get(key);
      if (!list) slices.set(key, (list = []));
      const last = list[list.length - 1];
      if (last && last.gen === gen && last.minute === minute) {
        for (const [d, v] of Object.entries(amounts) as [Dimension, number][]) last.amounts[d] = (last.amounts[d] ?? 0) + v;
      } else {
        list.push({ gen, minute, amounts: { ...amounts } });
      }
    },
    /**
     * Usage of an entity under a policy in its period at `now`, and whether anything is known of it (a policy with
     * `match` selectors applies only to entities known to have matching usage). A calendar period that ended since
     * the last tick starts from zero. Slices count when their minute touches the period (a minute that straddles
     * the start counts whole: more, never less).
     */
    usedFor(policy: Policy, kind: string, id: string, now: number): { used: Amounts; window: PeriodWindow; known: boolean } {
      const window = windowOf(policy, now);
      const used: Amounts = {};
      let known = false;
      const ev = current.get(policy.name);
      const sameWindow = ev && (policy.period.kind === 'rolling' || ev.window.start === window.start);
      const u = sameWindow ? ev.used.get(id) : undefined;
      if (u) {
        known = true;
        for (const [d, v] of Object.entries(u) as [Dimension, number][]) if (v !== 0) used[d] = v;
      }
      for (const s of slices.get(holdKey(policy.name, kind, id)) ?? []) {
        if (s.minute + MINUTE <= window.start) continue;
        known = true;
        for (const [d, v] of Object.entries(s.amounts) as [Dimension, number][]) used[d] = (used[d] ?? 0) + v;
      }
      return { used, window, known };
    },
    /** False until a tick has read usage since start: until then nothing is known of what was used. */
    get evaluated(): boolean {
      return evaluated;
    },
    /** Slices held (for stats and tests). */
    get pending(): number {
      let n = 0;
      for (const list of slices.values()) n += list.length;
      return n;
    },
  };
}
export type AdmissionUsage = ReturnType<typeof createAdmissionUsage>;
