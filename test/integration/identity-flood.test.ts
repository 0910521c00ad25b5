// A sender spraying distinct api keys (docs/hostile-text.md#known-limits): detection holds at most
// `anomaly.max_entities` of a kind in memory, and the key that spends among the flood is still caught.
import { afterEach, describe, expect, it } from 'vitest';
import { createAnomalyRepo } from '../../store/anomaly-repo.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { attackSpans, keyHistory } from '../helpers/key-attack.ts';
import { chatSpan, exportJson } from '../helpers/otlp-bodies.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const CAP = 500;
const YAML = `
detector: { interval: 1h }
anomaly:
  scopes: [api_key]
  max_entities: ${CAP}
  actions: { warning: alert, critical: revoke }
`;

let apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.reverse()) await a.close({ cleanup: true });
  apps = [];
});

/** One OTLP body of 1,000 one-call keys never seen before (a cheap call each), ending in the minute `minute`. */
function floodBody(wave: string, request: number, minute: number): string {
  const spans = Array.from({ length: 1000 }, (_, i) =>
    Object.assign(chatSpan({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'tollkeeper.api_key.id': `flood-${wave}-${request}-${i}` }), { endMs: minute + 5 * SEC + i }),
  );
  return exportJson(spans);
}

async function post(a: TestApp, body: string): Promise<number> {
  const res = await fetch(`${a.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

describe('a flood of distinct api keys', () => {
  it('keeps at most max_entities keys in memory while the key that spends among them is caught and stays tracked', async () => {
    const minute = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
    let now = minute + 2 * SEC;
    const a = await startApp({ yaml: YAML, startLoop: false, now: () => now });
    apps.push(a);
    await createUsageRepo(a.app.store).insert(keyHistory(now));
    await a.app.loop!.tickNow(); // k-1's baseline: a week of $0.60 hours

    for (let r = 0; r < 20; r++) expect(await post(a, floodBody('a', r, minute))).toBe(200);
    expect(await post(a, attackSpans(minute))).toBe(200);
    now = minute + 20 * SEC;
    await a.app.loop!.tickNow();
    const [inc] = await createAnomalyRepo(a.app.store).listIncidents({ limit: 10 });
    expect(inc).toMatchObject({ kind: 'api_key', entityId: 'k-1', pattern: 'burst', severity: 'critical', action: 'revoke' });
    const held = a.app.anomaly!.stats();
    expect(held.held).toBeLessThanOrEqual(CAP);
    expect(held.baselines).toBeLessThanOrEqual(CAP);
    expect(held.fresh).toBeLessThanOrEqual(CAP);
    expect(held.held).toBeGreaterThan(CAP / 2); // the cap, not an empty window

    // A second wave of new keys a minute later: still bounded, and k-1's incident is still followed.
    for (let r = 0; r < 5; r++) expect(await post(a, floodBody('b', r, minute + MIN))).toBe(200);
    now = minute + MIN + 20 * SEC;
    await a.app.loop!.tickNow();
    const after = a.app.anomaly!.stats();
    expect(after.held).toBeLessThanOrEqual(CAP);
    expect(after.baselines).toBeLessThanOrEqual(CAP);
    expect(after.fresh).toBeLessThanOrEqual(CAP);
    expect(a.app.anomaly!.baseline('api_key', 'k-1')).toBeDefined();
    const [open] = await createAnomalyRepo(a.app.store).listIncidents({ status: 'open', limit: 10 });
    expect(open).toMatchObject({ id: inc!.id, resolvedAt: null });
  }, 180_000);
});
