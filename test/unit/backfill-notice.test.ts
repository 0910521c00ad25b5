import { describe, expect, it } from 'vitest';
import { backfilledEntities } from '../../collector/backfill-notice.ts';
import { toRows } from '../../collector/rows.ts';
import { usageEvent } from '../helpers/events.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 3, 9, 20);
const HOUR_START = Math.floor(NOW / HOUR) * HOUR;

describe('backfill notice: stored rows older than the current hour name their entities', () => {
  it('names every identity of old rows once, and nothing for live rows', () => {
    const { rows } = toRows([
      usageEvent({ time: NOW - 1000, apiKey: 'k-live', tenant: 't-live' }),
      usageEvent({ time: NOW - 3 * 24 * HOUR, apiKey: 'k-old', tenant: 't-1', agent: 'a-1', user: 'u-1' }),
      usageEvent({ time: NOW - 2 * 24 * HOUR, apiKey: 'k-old', tenant: 't-1', conversation: 'c-9' }),
    ]);
    const got = backfilledEntities(rows, HOUR_START).map((e) => `${e.kind}:${e.id}`).sort();
    expect(got).toEqual(['agent:a-1', 'api_key:k-old', 'conversation:c-9', 'service:svc', 'tenant:t-1', 'user:u-1']);
    expect(backfilledEntities(rows.slice(0, 1), HOUR_START)).toEqual([]);
  });

  it('skips a row it cannot decode instead of failing', () => {
    expect(backfilledEntities([{ key: 'x', id: 'x', time: 0, line: '{not json' }], HOUR_START)).toEqual([]);
  });
});
