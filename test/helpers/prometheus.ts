/** One parsed exposition: sample values by `name{label="v",…}` (labels sorted), and each family's declared type. */
export interface Exposition {
  samples: Map<string, number>;
  types: Map<string, string>;
  /** Sum of every sample of `name` whose labels include `match` (0 when none). */
  sum(name: string, match?: Record<string, string>): number;
}

const HELP = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/;
const TYPE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/;
// Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes `Nan`).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|[nN][aA][nN]|[+-][iI][nN][fF]))$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/g;

/**
 * A strict parser of the Prometheus text format 0.0.4: every line must be blank, a HELP, a TYPE or a sample, each sample
 * must belong to a declared family, and no series may appear twice. Throws on the first line that does not fit.
 */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('exposition does not end with a newline');
  for (const [i, line] of lines.slice(0, -1).entries()) {
    // Blank lines between families are allowed by the format.
    if (line === '' || HELP.test(line)) continue;
    const t = TYPE.exec(line);
    if (t) {
      if (types.has(t[1]!)) throw new Error(`line ${i + 1}: family ${t[1]} declared twice`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const s = SAMPLE.exec(line);
    if (!s) throw new Error(`line ${i + 1} is not HELP, TYPE or a sample: ${JSON.stringify(line)}`);
    const name = s[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count|total|created)$/, '');
    if (!types.has(family) && !types.has(name)) throw new Error(`line ${i + 1}: sample ${name} has no TYPE`);
    const labels = [...(s[2] ?? '').matchAll(LABEL)].map((m) => `${m[1]}="${m[2]}"`).sort();
    const key = labels.length > 0 ? `${name}{${labels.join(',')}}` : name;
    if (samples.has(key)) throw new Error(`line ${i + 1}: series ${key} appears twice`);
    samples.set(key, /^[nN]/.test(s[3]!) ? NaN : Number(s[3]!.replace(/inf$/i, 'Infinity')));
  }
  return {
    samples,
    types,
    sum(name, match = {}) {
      let total = 0;
      const want = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
      for (const [key, value] of samples) {
        const at = key.indexOf('{');
        if ((at < 0 ? key : key.slice(0, at)) !== name) continue;
        if (want.every((w) => key.includes(`{${w}`) || key.includes(`,${w}`))) total += value;
      }
      return total;
    },
  };
}
