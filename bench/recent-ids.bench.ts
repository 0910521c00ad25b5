// The batch writer's recent-id set across and past its capacity: cost of an add must stay flat once it evicts.
// Run alone: `npx tsx bench/recent-ids.bench.ts`.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RecentIds, recentKey } from '../collector/recent-ids.ts';
import { progress, runBench } from './lib/harness.ts';
import { fmt } from './lib/stats.ts';

const CAPACITY = 500_000; // the writer's default
const CHUNK = 100_000;

await runBench(async ({ scale }) => {
  const chunks = Math.max(2, Math.round(20 * scale));
  const recent = new RecentIds(CAPACITY);
  const rows: string[][] = [];
  for (let c = 0; c < chunks; c++) {
    // Event ids as the decoder makes them: 48 lowercase hex characters.
    const keys = Array.from({ length: CHUNK }, () => recentKey(randomBytes(24).toString('hex')));
    const t0 = performance.now();
    for (let i = 0; i < CHUNK; i++) {
      if (!recent.hasKey(keys[i]!)) recent.addKey(keys[i]!, i);
    }
    const us = ((performance.now() - t0) * 1000) / CHUNK;
    if (c % 4 === 3 || c === chunks - 1 || c < 2) {
      rows.push([fmt((c + 1) * CHUNK), fmt(recent.size), fmt(us, 2)]);
      progress(`${fmt((c + 1) * CHUNK)} ids added: ${fmt(us, 2)} µs a lookup + add`);
    }
  }
  return {
    title: 'Recent-id set (batch writer dedup) past its capacity',
    method: [
      `\`RecentIds(${fmt(CAPACITY)})\` (the writer's default), ${fmt(chunks * CHUNK)} random event ids in chunks of ${fmt(CHUNK)}: per id one \`hasKey\` and one \`addKey\`, as the writer does; key making is outside the timing.`,
      'Once full, every add evicts the oldest id. Before the ring (session 2) eviction took the Map\'s first entry, which skips every deleted entry before it: 240 µs an add after 1M ids.',
    ],
    tables: [{ columns: ['ids added', 'ids held', 'µs per lookup + add (this chunk)'], rows }],
  };
});
