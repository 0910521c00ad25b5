import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { valueOrThrow, type Outcome } from '../core/errors.ts';
import type { Admission, AdmissionAnswer, AdmissionRequest } from '../detector/reservations-service.ts';
import { sameLogger } from './hot-path.ts';

const Entity = Type.Object(
  { kind: Type.String({ minLength: 1, maxLength: 128, description: 'entity kind (api_key, tenant, user, agent, …) or attribute a policy is scoped to' }), id: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

export const AdmissionBody = Type.Object(
  {
    entities: Type.Array(Entity, { minItems: 1, maxItems: 16, description: 'every entity the call is made for' }),
    estimate: Type.Object(
      {
        model: Type.String({ minLength: 1, maxLength: 256, description: 'the model as the call names it' }),
        provider: Type.Optional(Type.String({ maxLength: 128, description: 'provider as spans name it (openai, anthropic, …); helps pricing' })),
        input_tokens: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'input tokens of the call (default: admission.default_input_tokens)' })),
        max_output_tokens: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'the output cap sent with the call (default: admission.default_max_output_tokens)' })),
      },
      { additionalProperties: false },
    ),
    ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'seconds the reservation holds (default admission.ttl, at most admission.max_ttl)' })),
  },
  { additionalProperties: false, title: 'AdmissionRequest' },
);

const AdmissionReply = Type.Object(
  {
    decision: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('throttle')]),
    reservation_id: Type.Optional(Type.String({ description: 'set when something was reserved: put it on the call span as tollkeeper.reservation.id' })),
    ttl: Type.Integer({ description: 'seconds the reservation holds (0 when refused)' }),
    expires_at: Type.Optional(Type.String({ description: 'when the reservation is freed unless committed or released first' })),
    remaining: Type.Optional(Type.Object({}, { additionalProperties: Type.Number(), description: 'smallest amount left per limited dimension once this call is reserved' })),
    reserved: Type.Optional(Type.Object({}, { additionalProperties: Type.Number(), description: 'the worst case held, per dimension' })),
    stale: Type.Optional(Type.Boolean({ description: 'the revocation list is past gateway.max_staleness and failing open' })),
    policy: Type.Optional(Type.String({ description: 'the policy that refused the call' })),
    resets_at: Type.Optional(Type.String({ description: 'when the refusing limit resets (end of its period)' })),
    reason: Type.Optional(Type.String()),
    source: Type.Optional(Type.String({ description: 'quota, anomaly, manual or staleness' })),
    entity: Type.Optional(Type.Union([Type.Object({ kind: Type.String(), id: Type.String() }), Type.Null()])),
    retry_after: Type.Optional(Type.Integer({ description: 'throttled: seconds until the next call may pass' })),
  },
  { title: 'AdmissionAnswer' },
);

const ReleaseReply = Type.Object({ reservation_id: Type.String(), released: Type.Boolean({ description: 'false when it was not open (unknown, committed, released or expired)' }) });

/** The header a forward-auth gateway passes a call's estimate in: `model=gpt-4o;input_tokens=1200;max_output_tokens=800`. */
export const ESTIMATE_HEADER = 'x-tollkeeper-estimate';

const TOKEN_KEYS = new Set(['input_tokens', 'max_output_tokens', 'ttl']);

/**
 * An estimate header read into an admission estimate: `;`-separated `key=value` pairs, keys `model` (required),
 * `provider`, `input_tokens`, `max_output_tokens`, `ttl` (seconds). Every problem names the header and the value.
 */
export function parseEstimateHeader(value: string): Outcome<{ estimate: AdmissionRequest['estimate']; ttlMs?: number }> {
  const fields: Record<string, string> = {};
  const errors: string[] = [];
  for (const part of value.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    const k = eq > 0 ? p.slice(0, eq).trim().toLowerCase() : '';
    const v = eq > 0 ? p.slice(eq + 1).trim() : '';
    if (!k || !v) errors.push(`headers.${ESTIMATE_HEADER}: expected key=value pairs separated by ';' (got ${JSON.stringify(p)})`);
    else if (!['model', 'provider', ...TOKEN_KEYS].includes(k)) errors.push(`headers.${ESTIMATE_HEADER}: unknown key ${JSON.stringify(k)} (known: model, provider, input_tokens, max_output_tokens, ttl)`);
    else if (TOKEN_KEYS.has(k) && !(/^\d{1,9}$/.test(v) && (k !== 'ttl' || Number(v) >= 1))) errors.push(`headers.${ESTIMATE_HEADER}: ${k} must be a whole number${k === 'ttl' ? ' of seconds ≥ 1' : ' ≥ 0'} (got ${JSON.stringify(v)})`);
    else fields[k] = v;
  }
  if (fields.model === undefined && errors.length === 0) errors.push(`headers.${ESTIMATE_HEADER}: model is required (e.g. model=gpt-4o;input_tokens=1200;max_output_tokens=800)`);
  if (errors.length > 0) return { ok: false, code: 'invalid_request', errors };
  const n = (k: string) => (fields[k] !== undefined ? Number(fields[k]) : undefined);
  return {
    ok: true,
    value: {
      estimate: { model: fields.model!, provider: fields.provider, input_tokens: n('input_tokens'), max_output_tokens: n('max_output_tokens') },
      ...(fields.ttl !== undefined ? { ttlMs: Number(fields.ttl) * 1000 } : {}),
    },
  };
}

/** The wire form of an admission answer (also used by /v1/authorize with an estimate header). */
export function admissionReply(a: AdmissionAnswer): Static<typeof AdmissionReply> {
  if (a.decision === 'allow') {
    return {
      decision: 'allow',
      ...(a.reservationId !== undefined ? { reservation_id: a.reservationId } : {}),
      ttl: a.reservationId !== undefined ? Math.round(a.ttlMs / 1000) : 0,
      ...(a.expiresAt !== undefined ? { expires_at: new Date(a.expiresAt).toISOString() } : {}),
      ...(a.remaining !== undefined ? { remaining: a.remaining } : {}),
      reserved: a.reserved,
      stale: a.stale,
    };
  }
  return {
    decision: a.decision,
    ttl: 0,
    entity: a.entity,
    reason: a.reason,
    source: a.source,
    ...(a.policy !== undefined ? { policy: a.policy } : {}),
    ...(a.resetsAt !== undefined ? { resets_at: a.resetsAt } : {}),
    ...(a.retryAfterMs !== undefined ? { retry_after: Math.max(1, Math.ceil(a.retryAfterMs / 1000)) } : {}),
  };
}

export interface AdmissionRouteOptions {
  admission: Admission;
}

/** POST /v1/admission (reserve a call's worst case before it runs) and POST /v1/admission/:id/release. */
export const admissionRoutes: FastifyPluginAsyncTypebox<AdmissionRouteOptions> = async (app, o) => {
  app.post(
    '/v1/admission',
    {
      config: { auth: 'gateway' },
      // Hot path: the app's logger itself, as forward-auth does.
      childLoggerFactory: sameLogger,
      schema: {
        tags: ['gateways'],
        summary: 'Admission: reserve the worst case of a call against every hard limit before it runs',
        description:
          'Always 200 with a decision. allow: the worst-case usage is held until a usage span carrying tollkeeper.reservation.id = reservation_id is stored (the actual usage counts, the rest is freed), the reservation is released, or ttl passes. deny/throttle: which policy or list entry refused and when it resets. 400 unpriced_model when a cost limit applies and the model cannot be priced.',
        body: AdmissionBody,
        response: { 200: AdmissionReply },
      },
    },
    async (request) => {
      const b = request.body;
      return admissionReply(valueOrThrow(o.admission.admit({ entities: b.entities, estimate: b.estimate, ttlMs: b.ttl !== undefined ? b.ttl * 1000 : undefined })));
    },
  );
  app.post(
    '/v1/admission/:id/release',
    {
      config: { auth: 'gateway' },
      schema: {
        tags: ['gateways'],
        summary: 'Free a reservation (the call was not made, or failed before using anything)',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: ReleaseReply },
      },
    },
    async (request) => ({ reservation_id: request.params.id, released: o.admission.release(request.params.id) }),
  );
};
