import { EventEmitter } from 'node:events';
import { Buckets, decide, type Decision, type EntityRef, type FailMode } from '../core/enforcement/decide.ts';
import { bucketShape } from '../core/enforcement/token-bucket.ts';
import type { Entry } from '../core/enforcement/types.ts';

export interface PollerOptions {
  /** tollkeeper's API base (`http://host:8080`) or the full `/v1/revocations` URL. */
  url: string;
  /** The gateway token (read-only). */
  token: string;
  /** Long-poll wait per request in seconds (1–60, default 30); 0 polls every `intervalMs` instead. */
  waitSeconds?: number;
  /** Pause between polls when `waitSeconds` is 0 (default 1000). */
  intervalMs?: number;
  /** Retry delays after a failed poll: doubling from `minBackoffMs` (500) up to `maxBackoffMs` (30 000), ±20 % jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Used by `check()`: past this staleness `failMode` decides (defaults 60 000 ms, 'open'). */
  maxStalenessMs?: number;
  failMode?: FailMode;
  /** Clock (ms) for staleness and buckets; default Date.now. */
  now?: () => number;
}

export interface ChangeEvent {
  version: number;
  added: Entry[];
  removed: EntityRef[];
  full: boolean;
}

interface ListBody {
  version: number;
  entries?: Entry[];
  added?: Entry[];
  removed?: EntityRef[];
  full?: boolean;
}

const key = (kind: string, id: string) => `${kind}\u0000${id}`;
// An open long poll is trusted for its wait plus this much network slack.
const SLACK_MS = 5_000;

/**
 * Keeps a copy of tollkeeper's revocation list in memory: long-polls `?since=<version>&wait=` with `If-None-Match`,
 * applies deltas, keeps the last good list while the server is unreachable (bounded backoff), and reports how stale
 * it is. Events: 'change' (ChangeEvent), 'error' (Error; only emitted when someone listens), 'sync' (each answer).
 */
export class RevocationPoller extends EventEmitter {
  private readonly entries = new Map<string, Entry>();
  private readonly buckets = new Buckets();
  private readonly endpoint: string;
  private readonly o: Required<Omit<PollerOptions, 'url' | 'token'>> & { token: string };
  private readonly abort = new AbortController();
  private currentVersion: number | undefined;
  private lastSync: number | undefined;
  private knownCurrentAt: number | undefined;
  private openPollDeadline: number | undefined;
  private failures = 0;
  private closed = false;
  private readonly loop: Promise<void>;
  private readyWaiters: (() => void)[] = [];

  constructor(options: PollerOptions) {
    super();
    const u = new URL(options.url);
    if (!u.pathname.endsWith('/v1/revocations')) u.pathname = u.pathname.replace(/\/$/, '') + '/v1/revocations';
    this.endpoint = u.toString();
    this.o = {
      token: options.token,
      waitSeconds: Math.min(60, Math.max(0, options.waitSeconds ?? 30)),
      intervalMs: options.intervalMs ?? 1000,
      minBackoffMs: options.minBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      maxStalenessMs: options.maxStalenessMs ?? 60_000,
      failMode: options.failMode ?? 'open',
      now: options.now ?? Date.now,
    };
    this.loop = this.run();
  }

  /** The list version held (undefined before the first answer). */
  get version(): number | undefined {
    return this.currentVersion;
  }

  /** When the server last answered (ms since epoch), undefined before the first answer. */
  get lastSyncAt(): number | undefined {
    return this.lastSync;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * How long (ms) the list has not been known current: 0 while a long poll is open (the server answers it the
   * moment the list changes) and younger than its wait plus 5 s; otherwise the time since the last answer or
   * since the open poll broke. Infinity before the first answer.
   */
  staleness(): number {
    const now = this.o.now();
    if (this.openPollDeadline !== undefined && now <= this.openPollDeadline) return 0;
    if (this.knownCurrentAt === undefined) return Infinity;
    return Math.max(0, now - (this.openPollDeadline ?? this.knownCurrentAt));
  }

  get(kind: string, id: string): Entry | undefined {
    return this.entries.get(key(kind, id));
  }

  /** True when the entity is revoked (throttled entities are not blocked; use `check` or `throttleFor`). */
  isBlocked(kind: string, id: string): boolean {
    return this.entries.get(key(kind, id))?.action === 'revoke';
  }

  /** The local token bucket's shape for a throttled entity: rate (requests/s) and burst; undefined otherwise. */
  throttleFor(kind: string, id: string): { rate: number; burst: number; limit: NonNullable<Entry['limit']> } | undefined {
    const e = this.entries.get(key(kind, id));
    if (e?.action !== 'throttle' || !e.limit) return undefined;
    const shape = bucketShape(e.limit);
    return { rate: shape?.rate ?? Infinity, burst: shape?.burst ?? Infinity, limit: e.limit };
  }

  /** The throttle limit of a throttled entity as listed (requests and/or tokens per minute); undefined otherwise. */
  limitFor(kind: string, id: string): Entry['limit'] {
    const e = this.entries.get(key(kind, id));
    return e?.action === 'throttle' ? e.limit : undefined;
  }

  /** One request's answer for all its entities: revoked → 403, over a throttle → 429, stale + closed → 503. Takes a token. */
  check(entities: readonly EntityRef[]): Decision {
    return decide({
      entities,
      lookup: (k, i) => this.entries.get(key(k, i)),
      buckets: this.buckets,
      now: this.o.now(),
      stalenessMs: this.staleness(),
      maxStalenessMs: this.o.maxStalenessMs,
      failMode: this.o.failMode,
    });
  }

  /** Resolves after the first answer from the server, or rejects after `timeoutMs`. */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.lastSync !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${this.endpoint} within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops polling (an open long poll is aborted). */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.loop;
  }

  private apply(body: ListBody): void {
    const added: Entry[] = [];
    const removed: EntityRef[] = [];
    const full = body.entries !== undefined;
    if (full) {
      const next = new Map(body.entries!.map((e) => [key(e.kind, e.id), e]));
      for (const [k, e] of this.entries) if (!next.has(k)) removed.push({ kind: e.kind, id: e.id });
      for (const [k, e] of next) if (JSON.stringify(this.entries.get(k)) !== JSON.stringify(e)) added.push(e);
      this.entries.clear();
      for (const [k, e] of next) this.entries.set(k, e);
    } else {
      for (const e of body.added ?? []) {
        this.entries.set(key(e.kind, e.id), e);
        added.push(e);
      }
      for (const r of body.removed ?? []) {
        if (this.entries.delete(key(r.kind, r.id))) removed.push(r);
      }
    }
    for (const e of [...added, ...removed]) this.buckets.forget(e.kind, e.id);
    const moved = body.version !== this.currentVersion;
    this.currentVersion = body.version;
    if (moved || added.length || removed.length) this.emit('change', { version: body.version, added, removed, full } satisfies ChangeEvent);
  }

  private synced(now: number): void {
    this.lastSync = now;
    this.knownCurrentAt = now;
    this.failures = 0;
    for (const w of this.readyWaiters.splice(0)) w();
    this.emit('sync');
  }

  private async pollOnce(): Promise<void> {
    const v = this.currentVersion;
    const longPoll = v !== undefined && this.o.waitSeconds > 0;
    const url = v === undefined ? this.endpoint : `${this.endpoint}?since=${v}${longPoll ? `&wait=${this.o.waitSeconds}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.token}` };
    if (v !== undefined) headers['if-none-match'] = `"${v}"`;
    const budgetMs = (longPoll ? this.o.waitSeconds * 1000 : 0) + SLACK_MS;
    // Only a long poll that follows a good answer vouches for the list while it is open.
    if (longPoll && this.failures === 0) this.openPollDeadline = this.o.now() + budgetMs;
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(budgetMs)]) });
      if (res.status === 304) {
        await res.body?.cancel();
      } else if (res.status === 200) {
        this.apply((await res.json()) as ListBody);
      } else {
        const text = (await res.text()).slice(0, 200);
        throw new Error(`GET ${this.endpoint} answered ${res.status}: ${text}`);
      }
      this.openPollDeadline = undefined;
      this.synced(this.o.now());
    } catch (err) {
      // A broken open poll vouched for the list until it broke (or until its deadline).
      if (this.openPollDeadline !== undefined) this.knownCurrentAt = Math.min(this.o.now(), this.openPollDeadline);
      this.openPollDeadline = undefined;
      throw err;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.pollOnce();
        if (this.o.waitSeconds === 0) await this.sleep(this.o.intervalMs);
      } catch (err) {
        if (this.closed) break;
        this.failures++;
        if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
        const base = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(this.failures - 1, 20));
        await this.sleep(base * (0.8 + Math.random() * 0.4));
      }
    }
  }
}

/** Starts polling tollkeeper's revocation list; see RevocationPoller. */
export function createRevocationPoller(options: PollerOptions): RevocationPoller {
  return new RevocationPoller(options);
}
