// Progress of a whole `npm run bench`: which section of how many, time so far, and an estimate of what is left
// from each benchmark's duration in the previous BENCHMARKS.md (its "_Run … in N s …_" line).

/** Seconds each benchmark took in the document's last run of it (absent: never run, or an old format). */
export function previousSeconds(doc: string, ids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) {
    const start = doc.indexOf(`<!-- bench:${id} -->`);
    const end = doc.indexOf(`<!-- /bench:${id} -->`);
    if (start < 0 || end < start) continue;
    const m = /_Run [^_]*? in (\d+) s\b/.exec(doc.slice(start, end));
    if (m) out.set(id, Number(m[1]));
  }
  return out;
}

export const clock = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Tracks a run of `ids` in order. The estimate for what is left is the previous durations of the benchmarks still to
 * run (a guess of `fallbackS` for one without history), scaled by how fast this run has gone against its history so
 * far (a loaded machine runs everything slower).
 */
export function createRunProgress(ids: readonly string[], previous: Map<string, number>, o: { scale: number; fallbackS: (id: string) => number; now?: () => number }) {
  const now = o.now ?? Date.now;
  const started = now();
  const expected = (id: string) => (previous.get(id) ?? o.fallbackS(id)) * o.scale;
  let doneActual = 0;
  let doneExpected = 0;
  let index = 0;

  const left = (from: number) => {
    const rest = ids.slice(from).reduce((a, id) => a + expected(id), 0);
    const pace = doneExpected > 0 ? Math.min(4, Math.max(0.25, doneActual / doneExpected)) : 1;
    return rest * pace;
  };

  return {
    /** The line printed before benchmark `id` starts. */
    starting(id: string): string {
      index = ids.indexOf(id);
      const elapsed = (now() - started) / 1000;
      return `=== [${index + 1}/${ids.length}] ${id} — elapsed ${clock(elapsed)}, about ${clock(left(index))} left (this one ~${clock(expected(id))})`;
    },
    /** The line printed when it is done (`seconds` it took). */
    finished(id: string, seconds: number, outcome: string): string {
      doneActual += seconds;
      doneExpected += expected(id);
      const elapsed = (now() - started) / 1000;
      const rest = index + 1 < ids.length ? `, about ${clock(left(index + 1))} left` : '';
      return `=== [${index + 1}/${ids.length}] ${id}: ${outcome} in ${Math.round(seconds)} s — elapsed ${clock(elapsed)}${rest}`;
    },
  };
}
