import type { Logger } from 'pino';
import type { Config } from '../core/config/load.ts';
import type { PriceInput, PriceResult } from '../core/pricing/types.ts';
import type { Limits } from '../core/quota/evaluate.ts';
import type { Policy } from '../core/quota/policy.ts';
import type { Enforcement } from '../detector/enforcement.ts';
import type { ForwardAuth } from '../detector/forward-auth.ts';
import type { QuotaRemaining } from '../detector/quota-remaining.ts';
import { createReservationsPersistence } from '../detector/reservations-persist.ts';
import { createAdmission, type Admission } from '../detector/reservations-service.ts';
import type { AdmissionUsage } from '../detector/reservations-usage.ts';
import type { ClickHouse } from '../store/port.ts';
import { createReservationsRepo } from '../store/reservations-repo.ts';

/** How often a detector in its own process looks for usage that committed its open reservations. */
const COMMIT_POLL_MS = 1000;

/** The quota job tells both forward-auth's remaining figures and admission's usage view about each tick. */
export function tickListeners(remaining: QuotaRemaining, usage: AdmissionUsage) {
  return {
    begin: () => usage.begin(),
    record(policy: Policy, window: Parameters<QuotaRemaining['record']>[1], usages: Parameters<QuotaRemaining['record']>[2], limitsFor: (entity: string) => Limits): void {
      remaining.record(policy, window, usages, limitsFor);
      usage.record(policy, window, usages);
    },
    commit(): void {
      remaining.commit();
      usage.commit();
    },
  };
}

/**
 * Admission's composition: the service, its persistence (rebuilt at start), and, when the collector runs in
 * another process, a poll for usage rows that committed open reservations.
 */
export async function startAdmission(o: {
  config: Config;
  store: ClickHouse;
  usage: AdmissionUsage;
  policies: { active(): readonly Policy[]; limitsFor(policy: Policy, entity: string): Limits };
  forwardAuth: ForwardAuth;
  enforcement: Enforcement;
  pricer: { price(i: PriceInput): PriceResult };
  logger: Logger;
  now: () => number;
  /** True when no collector runs in this process (its stored rows never reach us). */
  collectorElsewhere: boolean;
}): Promise<{ admission: Admission; close(): Promise<void> }> {
  const a = o.config.admission;
  const persistence = createReservationsPersistence({ repo: createReservationsRepo(o.store), logger: o.logger, flushIntervalMs: a.flush_interval });
  const admission = createAdmission({
    policies: o.policies,
    listCheck: (entities) => o.forwardAuth.authorize(entities),
    lookup: o.enforcement.get,
    pricer: o.pricer,
    usage: o.usage,
    persistence,
    settings: { defaultTtlMs: a.ttl, maxTtlMs: a.max_ttl, defaultInputTokens: a.default_input_tokens, defaultMaxOutputTokens: a.default_max_output_tokens },
    now: o.now,
    logger: o.logger,
  });
  const loaded = await persistence.load(o.now());
  admission.restore(loaded.open);
  // Committed while this process was away: the first tick reads their usage; only their state is recorded.
  for (const r of loaded.committed) persistence.changed(r, 'committed', o.now());
  if (loaded.open.length > 0 || loaded.committed.length > 0) o.logger.info({ open: loaded.open.length, committed: loaded.committed.length }, 'admission reservations rebuilt from the store');
  persistence.start();

  const expiry = setInterval(() => admission.expire(), 1000);
  expiry.unref();
  let poll: NodeJS.Timeout | undefined;
  let polling = false;
  if (o.collectorElsewhere) {
    poll = setInterval(() => {
      const oldest = admission.oldestOpen();
      if (polling || oldest === undefined) return;
      polling = true;
      persistence
        .committedIds(admission.openIds(), oldest)
        .then((ids) => admission.committedElsewhere(ids), (err: unknown) => o.logger.warn({ err }, 'cannot look for committed reservations'))
        .finally(() => (polling = false));
    }, COMMIT_POLL_MS);
    poll.unref();
  }
  return {
    admission,
    async close() {
      clearInterval(expiry);
      if (poll) clearInterval(poll);
      await persistence.close();
    },
  };
}
