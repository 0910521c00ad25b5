import type { EntityRef } from '../core/enforcement/decide.ts';

/** What a gateway knows about a call before making it (tokens it cannot know are assumed by the server's defaults). */
export interface CallEstimate {
  model: string;
  provider?: string;
  input_tokens?: number;
  max_output_tokens?: number;
}

/** tollkeeper's answer to an admission (see docs/admission.md). */
export interface AdmissionAnswer {
  decision: 'allow' | 'deny' | 'throttle';
  /** Set when something was reserved: put it on the call's span as `tollkeeper.reservation.id`. */
  reservation_id?: string;
  /** Seconds the reservation holds (0 when refused). */
  ttl: number;
  expires_at?: string;
  remaining?: Record<string, number>;
  reserved?: Record<string, number>;
  stale?: boolean;
  policy?: string;
  resets_at?: string;
  reason?: string;
  source?: string;
  entity?: EntityRef | null;
  retry_after?: number;
}

export interface AdmissionClientOptions {
  /** tollkeeper's API base (`http://host:8080`). */
  url: string;
  /** The gateway token. */
  token: string;
  /** Per request (default 2000 ms): an admission that takes longer is an error for the gateway's fail mode to decide. */
  timeoutMs?: number;
}

/** The span attribute that ties a call's usage to its reservation. */
export const RESERVATION_ATTRIBUTE = 'tollkeeper.reservation.id';

/**
 * Asks tollkeeper before each call: `admit` reserves the call's worst case against every hard limit (allow / deny /
 * throttle), `release` frees a reservation whose call was not made. Both reject on a network error, a timeout or an
 * answer other than 200 (the message names the status and the body): the gateway's fail mode decides then.
 */
export function createAdmissionClient(o: AdmissionClientOptions) {
  const base = o.url.replace(/\/$/, '');
  const timeoutMs = o.timeoutMs ?? 2000;
  async function post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST ${base + path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
  return {
    /** Reserves the worst case of one call for these entities; `ttl` in seconds (server default when absent). */
    admit(entities: readonly EntityRef[], estimate: CallEstimate, opts: { ttl?: number } = {}): Promise<AdmissionAnswer> {
      return post<AdmissionAnswer>('/v1/admission', { entities, estimate, ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}) });
    },
    /** Frees a reservation; resolves false when it was not open any more (committed, released or expired). */
    async release(reservationId: string): Promise<boolean> {
      const r = await post<{ released: boolean }>(`/v1/admission/${encodeURIComponent(reservationId)}/release`, undefined);
      return r.released;
    },
  };
}
export type AdmissionClient = ReturnType<typeof createAdmissionClient>;
