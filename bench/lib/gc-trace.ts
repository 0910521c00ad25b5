// Summaries of V8's `--trace-gc-nvp` output (one line per collection, every isolate of the process), per isolate:
// how often it scavenged, how long each paused, and how much each found allocated and still alive. Medians, so the
// start-up collections (loading state, compiling) do not weigh on the steady state.

export interface ScavengeStats {
  isolate: string;
  /** Heap size after collection (median), to tell the isolates apart (the gateway worker holds the list). */
  window: string;
  count: number;
  meanPauseMs: number;
  medianPauseMs: number;
  maxPauseMs: number;
  allocatedKiB: number;
  survivedKiB: number;
  promotedKiB: number;
  /** Bytes allocated over the isolate's life (the sum over its scavenges). */
  allocatedTotal: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Isolates with at least `minCount` scavenges, busiest first. */
export function scavengeStats(lines: Iterable<string>, minCount = 20): ScavengeStats[] {
  const by = new Map<string, Record<string, number>[]>();
  for (const line of lines) {
    const m = /\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: pause=([\d.]+).*? gc=s /.exec(line);
    if (!m) continue;
    const fields: Record<string, number> = { pause: Number(m[2]) };
    for (const [, k, v] of line.matchAll(/ ([a-z_]+)=(\d+(?:\.\d+)?)(?= )/g)) fields[k!] = Number(v);
    let l = by.get(m[1]!);
    if (!l) by.set(m[1]!, (l = []));
    l.push(fields);
  }
  const out: ScavengeStats[] = [];
  for (const [isolate, l] of by) {
    if (l.length < minCount) continue;
    const pauses = l.map((f) => f.pause!);
    out.push({
      isolate,
      window: `heap ${(median(l.map((f) => f.total_size_after ?? 0)) / 2 ** 20).toFixed(1)} MiB`,
      count: l.length,
      meanPauseMs: pauses.reduce((a, b) => a + b, 0) / l.length,
      medianPauseMs: median(pauses),
      maxPauseMs: Math.max(...pauses),
      allocatedKiB: median(l.map((f) => f.allocated ?? 0)) / 1024,
      survivedKiB: median(l.map((f) => f.new_space_survived ?? 0)) / 1024,
      promotedKiB: median(l.map((f) => f.promoted ?? 0)) / 1024,
      allocatedTotal: l.reduce((a, f) => a + (f.allocated ?? 0), 0),
    });
  }
  return out.sort((a, b) => b.count - a.count);
}
