import { describe, expect, it } from 'vitest';
import { createRunProgress, previousSeconds } from '../../bench/lib/progress.ts';

const DOC = [
  '<!-- bench:ingest -->',
  '## Ingest',
  '_Run 2026-11-25 21:51 UTC with `npm run bench -- --only ingest` in 143 s on AMD EPYC × 2, Node v20.20.2; load 1.5._',
  '<!-- /bench:ingest -->',
  '<!-- bench:overload -->',
  '_Run 2026-11-25 21:43 UTC with `npm run bench` in 57 s on AMD EPYC × 2._',
  '<!-- /bench:overload -->',
].join('\n');

describe('npm run bench progress', () => {
  it("reads each benchmark's previous duration from its own section", () => {
    expect([...previousSeconds(DOC, ['ingest', 'overload', 'gateway'])]).toEqual([
      ['ingest', 143],
      ['overload', 57],
    ]);
  });

  it('says which section of how many, the time so far and what is left, paced by this run against the last', () => {
    let t = 0;
    const p = createRunProgress(['ingest', 'overload', 'gateway'], previousSeconds(DOC, ['ingest', 'overload']), { scale: 1, fallbackS: () => 100, now: () => t });
    expect(p.starting('ingest')).toBe('=== [1/3] ingest — elapsed 0:00, about 5:00 left (this one ~2:23)');
    t = 286_000;
    // Twice as slow as last time: what is left (57 s + a 100 s guess) doubles.
    expect(p.finished('ingest', 286, 'done')).toBe('=== [1/3] ingest: done in 286 s — elapsed 4:46, about 5:14 left');
    expect(p.starting('overload')).toBe('=== [2/3] overload — elapsed 4:46, about 5:14 left (this one ~0:57)');
    t += 57_000;
    // Pace now (286 + 57) / (143 + 57) = 1.715: the 100 s guess becomes 172 s.
    expect(p.finished('overload', 57, 'failed')).toBe('=== [2/3] overload: failed in 57 s — elapsed 5:43, about 2:52 left');
    p.starting('gateway');
    expect(p.finished('gateway', 90, 'done')).toMatch(/^=== \[3\/3\] gateway: done in 90 s — elapsed 5:43$/);
  });
});
