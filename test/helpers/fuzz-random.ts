/** A small seeded random source for the fuzz tests: the same seed gives the same requests in the same order. */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/**
 * The seed a fuzz run uses: `TOLLKEEPER_FUZZ_SEED` replays a run (every failure message names its seed),
 * otherwise a fresh one each run, so the suite keeps exploring.
 */
export function fuzzSeed(env: string | undefined = process.env.TOLLKEEPER_FUZZ_SEED): number {
  if (env === undefined || env === '') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`TOLLKEEPER_FUZZ_SEED: expected a whole number ≥ 0 (got ${JSON.stringify(env)})`);
  return n;
}

/** mulberry32: tiny, fast and good enough to spread test cases (not for anything secret). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    pick<T>(xs: readonly T[]): T {
      if (xs.length === 0) throw new Error('pick from an empty list');
      return xs[int(xs.length)]!;
    },
    chance: (p) => next() < p,
  };
}
