import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TollkeeperError, valueOrThrow } from '../core/errors.ts';
import { parseDuration } from '../core/quota/duration.ts';
import type { Policy } from '../core/quota/policy.ts';
import { parsePolicy, PolicyInput } from '../core/quota/policy-schema.ts';
import { replayEnd, type ReplayRow } from '../detector/replay.ts';
import { ErrorBody } from './errors.ts';
import { Timestamp } from './schemas.ts';
import { storedTime } from './time-range.ts';

/** Most detector ticks one HTTP replay may simulate (a week at 5 min); the CLI has no such bound. */
export const MAX_REPLAY_TICKS = 2_016;

const When = Type.String({ minLength: 1, maxLength: 64, description: 'ISO 8601 date or date-time, e.g. 2026-11-26 or 2026-11-26T00:00Z' });
const Body = Type.Object(
  {
    policy: Type.Optional(Type.Unsafe<unknown>({ ...PolicyInput, description: 'a policy as for POST /api/policies, tried without being saved' })),
    policy_name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'an existing policy' })),
    from: When,
    to: When,
    step: Type.Optional(Type.String({ maxLength: 16, description: 'simulated detector tick (default 1h)' })),
    anomaly: Type.Optional(Type.Boolean({ description: 'also replay anomaly detection (default false; much slower)' })),
  },
  { additionalProperties: false },
);
const Finding = Type.Object({
  at: Timestamp,
  source: Type.Union([Type.Literal('quota'), Type.Literal('anomaly'), Type.Literal('enforcement')]),
  what: Type.String({ description: 'policy or pattern' }),
  entity: Type.String(),
  level: Type.String({ description: 'threshold (50%) or severity' }),
  action: Type.String(),
  detail: Type.String(),
});
const Reply = Type.Object({
  from: Timestamp,
  to: Timestamp,
  step_seconds: Type.Number(),
  ticks: Type.Integer(),
  policies: Type.Array(Type.String()),
  anomaly: Type.Boolean(),
  notes: Type.Array(Type.String(), { description: 'what was adjusted, e.g. a `to` in the future replayed up to now' }),
  findings: Type.Array(Finding),
});

export interface ReplayOptions {
  /** Active policies (config file and admin API). */
  policies: () => readonly Policy[];
  /** The replay `tollkeeper replay` runs: stored usage through quotas (and detection), acting on nothing. */
  run: (o: { policies: readonly Policy[]; from: number; to: number; stepMs: number; anomaly: boolean; progress: (done: number, total: number) => void }) => Promise<ReplayRow[]>;
  /** Longest a replay may run (`server.timeouts.replay`): then it is stopped and answered 422 replay_too_long. */
  budgetMs: number;
  now: () => number;
}

/** Thrown from the progress callback between two ticks to stop a replay. */
class ReplayStopped extends Error {
  constructor(readonly done: number, readonly total: number) {
    super('replay stopped');
  }
}

/** Replayed times lie in the years the store keeps usage for. */
const time = (name: 'from' | 'to', s: string): number => storedTime(`body.${name}`, s);

/** POST /api/replay: "what would this policy have done last week?" over stored usage, without acting. */
export const replayRoutes: FastifyPluginAsyncTypebox<ReplayOptions> = async (app, o) => {
  // One at a time: a replay reads a lot of usage, and a second one would only slow both down.
  let running = false;
  app.post(
    '/api/replay',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['replay'],
        summary: 'Run quotas (and detection) over stored usage as the detector would have; acts on nothing',
        description: 'A `policy` is validated like POST /api/policies (problems answer 400 invalid_policy with their paths) and is not saved. Without policy or policy_name, every active policy is replayed. A `to` in the future is replayed up to now (said in `notes`); a `from` that is not in the past is a 400. One replay runs at a time (409 while another does); one that would run longer than `server.timeouts.replay` (100 s) is stopped and answered 422 replay_too_long.',
        body: Body,
        response: { 200: Reply, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const b = request.body;
      const from = time('from', b.from);
      const asked = time('to', b.to);
      if (!(from < asked)) throw new TollkeeperError('invalid_range', `from (${b.from}) must be before to (${b.to})`);
      const end = replayEnd(from, asked, o.now());
      if (!end.ok) throw new TollkeeperError('invalid_range', `body.from: ${end.error}`);
      const to = end.to;
      const step = parseDuration(b.step ?? '1h');
      if (!step.ok) throw new TollkeeperError('invalid_request', `body.step: ${step.error}`);
      if (step.ms < 60_000) throw new TollkeeperError('invalid_request', `body.step: must be at least 1m (got ${JSON.stringify(b.step)})`);
      const ticks = Math.ceil((to - from) / step.ms) + 1;
      if (ticks > MAX_REPLAY_TICKS) throw new TollkeeperError('invalid_range', `body.step: ${b.step ?? '1h'} gives ${ticks} ticks over this range, more than ${MAX_REPLAY_TICKS}; use a larger step or a shorter range (the CLI has no limit)`);
      if (b.policy !== undefined && b.policy_name !== undefined) throw new TollkeeperError('invalid_request', 'body: give policy or policy_name, not both');

      let policies: readonly Policy[];
      if (b.policy !== undefined) policies = [valueOrThrow(parsePolicy(b.policy))];
      else if (b.policy_name !== undefined) {
        const p = o.policies().find((x) => x.name === b.policy_name);
        if (!p) throw new TollkeeperError('not_found', `no policy ${b.policy_name}`);
        policies = [p];
      } else policies = o.policies();

      if (running) throw new TollkeeperError('conflict', 'another replay is running; try again when it has finished');
      running = true;
      // Stopped between two ticks once over budget (an answer after the socket closed is never read) or once the
      // caller hung up, so the one replay slot is free again at once.
      const started = performance.now();
      const socket = request.raw.socket;
      let hungUp = false;
      const onClose = () => {
        hungUp = true;
      };
      socket.once('close', onClose);
      const progress = (done: number, total: number) => {
        if (hungUp || performance.now() - started > o.budgetMs) throw new ReplayStopped(done, total);
      };
      try {
        const anomaly = b.anomaly ?? false;
        const rows = await o.run({ policies, from, to, stepMs: step.ms, anomaly, progress }).catch((err: unknown) => {
          if (!(err instanceof ReplayStopped)) throw err;
          const upTo = new Date(from + (err.done - 1) * step.ms).toISOString();
          throw new TollkeeperError(
            'replay_too_long',
            `replay stopped after ${o.budgetMs / 1000}s, ${err.done} of ${err.total} ticks done (up to ${upTo}); use a larger step, a shorter range, or the CLI (tollkeeper replay), which has no time limit`,
          );
        });
        return {
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          step_seconds: step.ms / 1000,
          ticks,
          policies: policies.map((p) => p.name),
          anomaly,
          notes: end.note !== undefined ? [end.note] : [],
          findings: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
        };
      } finally {
        socket.off('close', onClose);
        running = false;
      }
    },
  );
};
