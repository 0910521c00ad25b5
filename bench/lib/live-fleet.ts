// The fleet, its seeded history and the result tables of the live detection benchmark (bench/detection-live.bench.ts).
import type { ClickHouse } from '../../store/port.ts';

export const KEYS = 24;
export const tenantOf = (k: number): string => `t${Math.floor(k / 6)}`;
export const agentOf = (k: number): string => `ag${k % 4}`;
/** Each key's usual spend, $0.30–1.00 an hour at about one call a minute. */
export const hourlyOf = (k: number): number => 0.3 + (0.7 * k) / (KEYS - 1);
export const callCost = (k: number): number => hourlyOf(k) / 60;
export const MEDIAN_HOURLY = (hourlyOf(11) + hourlyOf(12)) / 2;

export interface Sent {
  at: number;
  cost: number;
}

export interface Attack {
  name: string;
  /** Entities whose incident counts as catching it (`kind:id`). */
  targets: string[];
  usualHourly: number;
  /** Per second of the run: spans to send (identity, cost, tool?). */
  tick(second: number, send: (k: string, tenant: string, agent: string, cost: number, tool?: boolean) => void): void;
  sent: Sent[];
  /** When it goes live (s after the start of the live run). */
  startS: number;
}

export interface Trap {
  name: string;
  entities: string[];
}

/** Calls this second for a rate per minute: the whole part always, the fraction by chance (seeded). */
export function perSecondOf(seed: number): (perMinute: number) => number {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return (perMinute) => {
    const whole = Math.floor(perMinute / 60);
    return whole + (rnd() < perMinute / 60 - whole ? 1 : 0);
  };
}

/**
 * Seven days of per-minute rows straight into the rollup: calls per minute drawn uniformly from 0..2×mean, where
 * the mean is a SQL expression of `number` (minutes before now, from 0) and `m` (the minute).
 */
export function fleetSeed(store: ClickHouse, cur: number) {
  const minutes = 7 * 1440;
  let salt = 1;
  const insert = (kind: string, entity: string, tenant: string, mean: string, usd: number, silentMin = 0) =>
    store.command(
      `INSERT INTO ${store.table('usage_minute')} SELECT {kind:String}, {entity:String}, m, {tenant:String}, r, r, 0, r * 1500, r * 300, 0, 0, 0, 0, r * {usd:Float64}, 0
       FROM (SELECT toDateTime({cur:UInt32}) - toIntervalMinute(number + 1) AS m, toUInt64(floor(rand(number + {salt:UInt32}) / 4294967296 * (2 * (${mean}) + 1))) AS r
             FROM numbers({n:UInt32}) WHERE number >= {silent:UInt32})
       WHERE r > 0`,
      { kind, entity, tenant, cur: cur / 1000, usd, salt: salt++ * 7919, n: minutes, silent: silentMin },
    );
  /** A trap key's rows count for its tenant and agent too, so they are not new entities. */
  const trapKey = async (entity: string, tenant: string, mean: string, usd: number, silentMin = 0) => {
    const s = salt;
    await insert('api_key', entity, tenant, mean, usd, silentMin);
    salt = s;
    await insert('tenant', tenant, tenant, mean, usd, silentMin);
    salt = s;
    await insert('agent', 'ag-trap', '', mean, usd, silentMin);
  };
  return {
    /** A key at a flat mean (fleet keys); `silentMin`: nothing in the last minutes (blocked by its quota). */
    key: (entity: string, tenant: string, perMin: number, usd: number, silentMin = 0) =>
      tenant === 't-trap' ? trapKey(entity, tenant, String(perMin), usd, silentMin) : insert('api_key', entity, tenant, String(perMin), usd, silentMin),
    flat: (kind: string, entity: string, tenant: string, perMin: number, usd: number) => insert(kind, entity, tenant, String(perMin), usd),
    /** +10 %/day: the mean today is `perMin`, a week ago about half of it. */
    growing: (entity: string, tenant: string, perMin: number, usd: number) => trapKey(entity, tenant, `${perMin} * pow(1.1, -number / 1440)`, usd),
    /** `mult` × the usual in the given UTC hours, every day. */
    batch: (entity: string, tenant: string, perMin: number, usd: number, mult: number, hours: number[]) =>
      trapKey(entity, tenant, `if(toHour(m) IN (${hours.join(', ')}), ${mult * perMin}, ${perMin})`, usd),
  };
}

const secs = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** The benchmark's tables: attacks (delays, spend), traps (outcome), and precision / recall. */
export function classify(attacks: Attack[], firstStored: (number | undefined)[], traps: Trap[], seen: Map<string, { flag: number; critical?: number }>, exporterP50S: number) {
  const rows = attacks.map((a, i) => {
    const sentAt = a.sent[0]?.at;
    const from = firstStored[i] ?? sentAt;
    const first = (pick: (e: { flag: number; critical?: number }) => number | undefined) =>
      a.targets.map((t) => seen.get(t)).map((e) => (e ? pick(e) : undefined)).filter((v): v is number => v !== undefined).sort((x, y) => x - y)[0];
    const flagAt = first((e) => e.flag);
    const critAt = first((e) => e.critical);
    const delay = (at: number | undefined) => (at === undefined || from === undefined ? '—' : `${secs(at - from)} (${secs(at - (sentAt ?? from))})`);
    const spend = a.sent.filter((x) => critAt === undefined || x.at <= critAt).reduce((acc, x) => acc + x.cost, 0);
    return [a.name, delay(flagAt), delay(critAt), `$${spend.toFixed(2)}${critAt === undefined ? ' (not enforced: whole run)' : ''}`, `${(spend / a.usualHourly).toFixed(1)}×`];
  });
  const trapRows = traps.map((t) => {
    const hits = t.entities.filter((e) => seen.has(e));
    const crit = hits.filter((e) => seen.get(e)!.critical !== undefined);
    return [t.name, hits.length === 0 ? 'nothing' : `${crit.length} critical, ${hits.length - crit.length} warning (${hits.join(', ')})`];
  });
  const targets = new Set(attacks.flatMap((a) => a.targets));
  const trapEntities = new Set(traps.flatMap((t) => t.entities));
  const others = [...seen.keys()].filter((k) => !targets.has(k) && !trapEntities.has(k));
  // Precision counts an incident on a tenant or agent that holds an attacked key as right (its usage did jump).
  const onTargets = [...seen.keys()].filter((k) => !trapEntities.has(k)).length;
  const recall = attacks.filter((_, i) => rows[i]![1] !== '—').length;
  const summary = [
    ['recall (attacks flagged)', `${recall} / ${attacks.length}`],
    ['attacks enforced (critical)', `${attacks.filter((_, i) => rows[i]![2] !== '—').length} / ${attacks.length}`],
    ['precision (incidents not on a trap / all)', seen.size === 0 ? '—' : `${onTargets} / ${seen.size}`],
    ['incidents on tenants/agents holding an attacked key', others.map((k) => `${k}${seen.get(k)!.critical !== undefined ? ' (critical)' : ''}`).join(', ') || 'none'],
    ['exporter batching delay (p50), not in the delays above', `${exporterP50S.toFixed(1)} s`],
  ];
  return [
    { caption: 'Attacks (delay from the first attack span stored; in brackets from its end in the SDK)', columns: ['attack', 'flagged after', 'critical after', 'spend before enforcement', '× usual hour'], rows },
    { caption: 'Traps (goal: no critical, at most one warning)', columns: ['trap', 'outcome'], rows: trapRows },
    { caption: 'Summary', columns: ['measure', 'value'], rows: summary },
  ];
}
