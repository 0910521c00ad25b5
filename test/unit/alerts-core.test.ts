import { execFileSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { retryDelay, withRetryAfter } from '../../core/alerts/backoff.ts';
import { spendChartPng } from '../../core/alerts/chart.ts';
import { groupByEntity, planEmails, type EmailRules } from '../../core/alerts/email-plan.ts';
import { renderMail } from '../../core/alerts/email-render.ts';
import { clipEscaped, slackMessage } from '../../core/alerts/slack.ts';
import { restoreCall, singleSubject } from '../../core/alerts/summary.ts';
import type { AlertEvent } from '../../core/alerts/types.ts';

const T = '2026-12-03T08:00:00.000Z';
const NOW = Date.parse(T);

function revoked(id: string, extra: Partial<AlertEvent['data']> = {}): AlertEvent {
  return { type: 'key.revoked', timestamp: T, data: { entity: { kind: 'api_key', id }, source: 'manual', action: 'revoke', reason: 'leaked', ...extra } };
}

function quota(type: 'quota.exceeded' | 'quota.threshold', id: string, used: number, limit: number): AlertEvent {
  const pct = Math.round((used / limit) * 100);
  return { type, timestamp: T, data: { entity: { kind: 'api_key', id }, source: 'quota', policy: 'daily', observed: used, expected: limit, action: 'revoke', reason: `api_key ${id} used $${used.toFixed(2)} of $${limit.toFixed(2)} cost_usd (${pct}%) under policy daily` } };
}

const anomaly: AlertEvent = {
  type: 'anomaly.detected',
  timestamp: T,
  data: { entity: { kind: 'api_key', id: 'k-42' }, tenant: 'acme', source: 'anomaly', incident_id: 'inc-1', pattern: 'burst', severity: 'critical', observed: 38.1, expected: 0.4, action: 'revoke', reason: 'api_key k-42 spent $38.10 in 5 min; its usual is $0.40 ± 0.12' },
};

const rules: EmailRules = { to: ['ops@x'], routes: [], cooldownMs: 15 * 60_000 };

describe('subjects and summaries', () => {
  it('follows "[tollkeeper] <What>: <kind> <id> — <summary>"', () => {
    expect(singleSubject({ ...anomaly, type: 'key.revoked' })).toBe('[tollkeeper] Revoked: api_key k-42 — $38.10 in 5 min, 95× usual');
    expect(singleSubject(anomaly)).toBe('[tollkeeper] Anomaly: api_key k-42 — $38.10 in 5 min, 95× usual');
    expect(singleSubject(quota('quota.threshold', 'k1', 8, 10))).toBe('[tollkeeper] Quota threshold: api_key k1 — $8.00 of $10.00 cost_usd (80%), policy daily');
    expect(singleSubject(revoked('k\r\nBcc: x@y'))).toBe('[tollkeeper] Revoked: api_key k Bcc: x@y — leaked');
  });

  it('writes a restore call that a shell passes through unchanged, whatever the id', () => {
    const id = `it's "quoted" $(rm -rf /) \`x\` \\ ; & | <>`;
    const cmd = restoreCall(revoked(id), 'http://127.0.0.1:8080/');
    expect(cmd.startsWith(`curl -X POST 'http://127.0.0.1:8080/v1/enforcement'`)).toBe(true);
    // Replace curl by printf to see the arguments the shell would hand to it.
    const args = execFileSync('sh', ['-c', cmd.replace(/^curl/, `printf '%s\\n'`)], { env: { TOLLKEEPER_ADMIN_TOKEN: 'tok' } }).toString().split('\n');
    expect(args).toContain('authorization: Bearer tok');
    expect(JSON.parse(args[args.indexOf('-d') + 1]!)).toEqual({ action: 'restore', kind: 'api_key', id, reason: 'restored by operator' });
  });
});

describe('email planning', () => {
  it('makes 500 revocations in one tick one digest, one item per entity named by the strongest What', () => {
    const events = Array.from({ length: 500 }, (_, i) => [quota('quota.exceeded', `k-${i}`, 11, 10), revoked(`k-${i}`)]).flat();
    const r = planEmails(events, rules, new Map(), NOW);
    expect(r.mails).toHaveLength(1);
    expect(r.mails[0]!.items).toHaveLength(500);
    expect(r.mails[0]!.items.every((i) => i.what === 'Revoked' && i.events.length === 2)).toBe(true);
    expect(r.mails[0]!.cooldownKeys[0]).toBe('api_key:k-0|Revoked');
    const mail = renderMail(r.mails[0]!, { apiUrl: 'http://h' });
    expect(mail.subject).toBe('[tollkeeper] Digest (500 events): 500 Revoked — api_key k-0, api_key k-1, api_key k-10 and 497 more');
    expect(mail.text).toContain('… and 400 more');
  });

  it('cools down per entity and What, and lets another What through', () => {
    const last = new Map([['api_key:k-1|Revoked', NOW - 60_000], ['api_key:k-2|Revoked', NOW - 16 * 60_000]]);
    const r = planEmails([revoked('k-1'), revoked('k-2'), { ...revoked('k-1'), type: 'key.restored' }], rules, last, NOW);
    expect(r.cooledDown).toBe(1);
    expect(r.mails[0]!.cooldownKeys).toEqual(['api_key:k-2|Revoked', 'api_key:k-1|Restored']);
    const again = planEmails([revoked('k-1')], rules, last, NOW);
    expect(again).toMatchObject({ mails: [], cooledDown: 1 });
  });

  it('routes by tenant, policy and severity, one mail per recipient list, and counts what nobody wants', () => {
    const routed: EmailRules = {
      to: [],
      routes: [
        { tenant: 'acme', to: ['acme@x'] },
        { severity: 'critical', to: ['pager@x'] },
        { policy: 'daily', events: ['quota.threshold'], to: ['finance@x'] },
      ],
      cooldownMs: 0,
    };
    const r = planEmails([anomaly, quota('quota.threshold', 'k-9', 5, 10), { ...revoked('k-3'), type: 'key.restored' }], routed, new Map(), NOW);
    expect(r.mails.map((m) => [m.to, m.items.map((i) => i.events[0]!.data.entity.id)])).toEqual([
      [['acme@x', 'pager@x'], ['k-42']],
      [['finance@x'], ['k-9']],
    ]);
    expect(r.unaddressed).toBe(1);
  });

  it('names the revocation, not its anomaly, when both happen in one tick', () => {
    expect(groupByEntity([anomaly, { ...anomaly, type: 'key.revoked' }])[0]!.what).toBe('Revoked');
  });
});

describe('rendering is escaped', () => {
  const hostile = revoked('<script>alert(1)</script>', { tenant: '"><img src=x>', policy: "<a href='javascript:x'>", reason: '<b>&amp;</b>' });

  it('leaves no user-controlled markup in the HTML part; the text part keeps it verbatim', () => {
    const r = planEmails([hostile], rules, new Map(), NOW);
    const mail = renderMail(r.mails[0]!, { apiUrl: 'http://h', dashboardUrl: 'http://dash/?a=1&b="2"', chartCid: 'c@t', chartCaption: '<i>cap</i>' });
    for (const bad of ['<script>', '<img src=x>', "<a href='javascript", '<b>', '<i>cap', 'b="2"']) expect(mail.html).not.toContain(bad);
    expect(mail.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(mail.text).toContain('Entity:       api_key <script>alert(1)</script>');
  });

  it('keeps chat mentions and links out of Slack messages', () => {
    const m = slackMessage(revoked('<!channel>', { reason: '<http://evil|click> & more' }), 'http://h');
    expect(m.text).not.toContain('<!channel>');
    expect(m.text).not.toContain('<http://evil');
    expect(m.text).toContain('&lt;!channel&gt;');
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });
});

describe('retry schedule', () => {
  const r = { maxAttempts: 10, initialMs: 1000, maxMs: 60_000 };
  it('doubles with jitter between half and all of the step, up to the cap', () => {
    expect([retryDelay(1, r, 0), retryDelay(1, r, 0.999)]).toEqual([500, 1000]);
    expect([retryDelay(3, r, 0), retryDelay(3, r, 0.999)]).toEqual([2000, 3998]);
    expect(retryDelay(50, r, 0.999)).toBeLessThanOrEqual(60_000);
    expect(withRetryAfter(500, 120_000, r)).toBe(60_000);
    expect(withRetryAfter(5000, 10, r)).toBe(5000);
  });
});

describe('spend chart', () => {
  it('is a PNG of the requested size; empty or non-finite series still render', () => {
    for (const values of [[1, 2, 3, 40], [], [Number.NaN, -1, Infinity]]) {
      const img = PNG.sync.read(spendChartPng(values, { highlightFrom: 3 }));
      expect([img.width, img.height]).toEqual([600, 160]);
    }
    const img = PNG.sync.read(spendChartPng([1, 1, 1, 10], { highlightFrom: 3 }));
    const at = (x: number, y: number) => [...img.data.subarray((y * 600 + x) * 4, (y * 600 + x) * 4 + 3)];
    expect(at(590, 150)).toEqual([214, 69, 65]); // the alert bar reaches the bottom right
    expect(at(10, 20)).not.toEqual([120, 144, 200]); // a small bar leaves the top left empty
  });

  it('clips escaped chat text at its budget, never inside an entity or a surrogate pair', () => {
    expect(clipEscaped('short', 10)).toBe('short');
    expect(clipEscaped('&lt;&lt;&lt;', 7)).toBe('&lt;…');
    expect(clipEscaped('ab&amp;cd', 5)).toBe('ab…');
    expect(clipEscaped('ab💸cd', 4)).toBe('ab…');
    expect(clipEscaped('x'.repeat(5000), 3000)).toHaveLength(3000);
  });
});

