import type { Logger } from 'pino';
import type { Config } from '../core/config/load.ts';
import { parseDuration } from '../core/quota/duration.ts';
import { createPolicyService } from '../detector/policies.ts';
import { replay, type ReplayResult } from '../detector/replay.ts';
import { createAnomalyRepo } from '../store/anomaly-repo.ts';
import { createFreshRepo } from '../store/fresh-repo.ts';
import { migrate } from '../store/migrate.ts';
import { createPolicyRepo } from '../store/policy-repo.ts';
import { createQuotaRepo } from '../store/quota-repo.ts';
import { CommandError, withStore } from './commands.ts';
import { detectorSettings } from './detector-settings.ts';

export { formatReplay, replayEnd, type ReplayResult, type ReplayRow } from '../detector/replay.ts';

/** Most ticks one replay may run (a larger --step or a shorter range beyond that). */
const MAX_TICKS = 100_000;

/**
 * `tollkeeper replay`: the live detector's jobs over stored usage in [from, to], acting on nothing. The policies
 * are the ones live uses now: the config file's and the API's, with per-entity overrides; the detection settings
 * (quiet period, actions, shadow) come from the same config as live.
 */
export async function replayStored(config: Config, o: { from: number; to: number; step: string; logger: Logger; now: number; progress?: (done: number, total: number) => void }): Promise<ReplayResult> {
  const step = parseDuration(o.step);
  if (!step.ok || step.ms < 1000) throw new CommandError(`--step: ${step.ok ? 'must be at least 1s' : step.error}`, 2);
  if ((o.to - o.from) / step.ms > MAX_TICKS) throw new CommandError(`replay would take more than ${MAX_TICKS} ticks: use a larger --step or a shorter range`, 2);
  return withStore(config, async (store) => {
    await migrate(store);
    return replayOn(store, config, { ...o, stepMs: step.ms });
  });
}

/** Replay on an open store (tests use it on the store of an app they ran). */
export async function replayOn(
  store: Parameters<typeof createQuotaRepo>[0],
  config: Config,
  o: { from: number; to: number; stepMs: number; logger: Logger; now: number; progress?: (done: number, total: number) => void },
): Promise<ReplayResult> {
  const policies = createPolicyService({ repo: createPolicyRepo(store), configPolicies: config.policies, now: () => o.now });
  await policies.load();
  return replay({
    settings: detectorSettings(config),
    policies,
    quotaRepo: createQuotaRepo(store),
    anomalyRepo: createAnomalyRepo(store),
    fresh: { mode: 'replay', repo: createFreshRepo(store) },
    logger: o.logger,
    from: o.from,
    to: o.to,
    stepMs: o.stepMs,
    ...(o.progress ? { progress: o.progress } : {}),
  });
}
