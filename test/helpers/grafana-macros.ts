// Expands a panel's SQL the way Grafana and grafana-clickhouse-datasource do before ClickHouse sees it, so tests
// run exactly what a dashboard would send. Three passes, in the plugin's order:
//   1. $__conditionalAll(condition, $var) → `1=1` when the variable is on "All" (frontend, CHDatasource.applyConditionalAll)
//   2. template variables: $var, ${var}, ${var:singlequote}, [[var]] (Grafana's templateSrv with the plugin's
//      format function: a multi-value list becomes 'a','b'; a single value stays bare)
//   3. time macros (backend, pkg/macros/macros.go): $__timeFilter, $__timeFilter_ms, $__fromTime, $__toTime,
//      $__fromTime_ms, $__toTime_ms, $__timeInterval, $__timeInterval_ms, $__interval_s, $__dateFilter,
//      $__timeFrom, $__timeTo.
// A `$__` macro left over after the passes is an error here (the plugin would send it on and ClickHouse would fail).

/** The value of the "All" option, as Grafana stores it. */
export const ALL = '$__all';

export interface Variable {
  /** Selected values (a multi-value variable), one value, or [ALL]. */
  current: string | string[];
  /** Every option the variable offers (what "All" stands for when the variable has no custom all value). */
  options: string[];
  multi?: boolean;
}

export interface ExpandContext {
  fromMs: number;
  toMs: number;
  intervalMs: number;
  variables: Record<string, Variable>;
}

/** Grafana's bucket for a range: the range over the panel's data points, rounded to a "nice" interval, at least `minMs`. */
export function grafanaIntervalMs(rangeMs: number, minMs: number, maxDataPoints = 1000): number {
  const raw = rangeMs / maxDataPoints;
  // Grafana's rangeutil.roundInterval: [upper bound, rounded interval] in milliseconds.
  const table: [number, number][] = [
    [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000], [7500, 5000],
    [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000], [90000, 60000], [210000, 120000], [450000, 300000],
    [750000, 600000], [1050000, 900000], [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000],
    [16200000, 10800000], [32400000, 21600000], [86400000, 43200000], [604800000, 86400000], [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  const rounded = table.find(([upper]) => raw < upper)?.[1] ?? 31536000000;
  return Math.max(rounded, minMs);
}

/** Arguments of the call whose '(' is at `open`: split on top-level commas, as the plugin's getMacroArgs does. */
function callArgs(sql: string, open: number): { args: string[]; end: number } {
  let depth = 0;
  let last = open + 1;
  const args: string[] = [];
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === ',' && depth === 1) {
      args.push(sql.slice(last, i));
      last = i + 1;
    }
    if (depth === 0) {
      args.push(sql.slice(last, i));
      return { args, end: i };
    }
  }
  throw new Error(`unbalanced parentheses after position ${open} in: ${sql.slice(open, open + 80)}`);
}

function isAll(v: Variable): boolean {
  const cur = Array.isArray(v.current) ? v.current : [v.current];
  return cur.length === 0 || cur.includes(ALL) || cur.join('') === '';
}

function conditionalAll(sql: string, vars: Record<string, Variable>): string {
  const macro = '$__conditionalAll(';
  let at = sql.lastIndexOf(macro);
  while (at !== -1) {
    const { args } = callArgs(sql, at + macro.length - 1);
    if (args.length !== 2) return sql;
    const [condition, ref] = args as [string, string];
    const name = /(?<=\$\{)\w+(?=\})|(?<=\$)\w+/.exec(ref.trim())?.[0];
    const v = name ? vars[name] : undefined;
    const phrase = v && isAll(v) ? '1=1' : condition;
    sql = sql.replace(`${macro}${condition},${ref})`, phrase);
    at = sql.lastIndexOf(macro);
  }
  return sql;
}

function values(v: Variable): string[] {
  if (isAll(v)) return v.options;
  return Array.isArray(v.current) ? v.current : [v.current];
}

/** Grafana's templateSrv.replace with the plugin's default format; unknown names ($__timeFilter…) stay as they are. */
function templateVariables(sql: string, vars: Record<string, Variable>): string {
  const re = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;
  return sql.replace(re, (match, plain?: string, bracket?: string, bracketFmt?: string, braced?: string, _path?: string, bracedFmt?: string) => {
    const name = plain ?? bracket ?? braced;
    const v = name ? vars[name] : undefined;
    if (!v) return match;
    const list = values(v);
    const format = bracketFmt ?? bracedFmt;
    if (format === 'singlequote') return list.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(',');
    if (format === 'doublequote') return list.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(',');
    if (format === 'raw' || format === 'csv') return list.join(',');
    if (format) throw new Error(`variable format ${format} is not modelled by this helper (in ${match})`);
    // The plugin's format function: arrays (multi-value or "All") quoted and joined, a single value bare.
    const multi = v.multi ?? Array.isArray(v.current);
    return multi || isAll(v) ? `'${list.join("','")}'` : (list[0] ?? '');
  });
}

const dateTime = (ms: number) => `toDateTime(${Math.floor(ms / 1000)})`;
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${Math.floor(ms)})`;
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;

type Macro = (args: string[], c: ExpandContext) => string;

function oneArg(name: string, f: (col: string, c: ExpandContext) => string): Macro {
  return (args, c) => {
    if (args.length !== 1) throw new Error(`$__${name} expected 1 argument(s), received ${args.length}`);
    return f(args[0]!.trim(), c);
  };
}

const MACROS: Record<string, Macro> = {
  timeFilter: oneArg('timeFilter', (col, c) => `${col} >= ${dateTime(c.fromMs)} AND ${col} <= ${dateTime(c.toMs)}`),
  timeFilter_ms: oneArg('timeFilter_ms', (col, c) => `${col} >= ${dateTime64(c.fromMs)} AND ${col} <= ${dateTime64(c.toMs)}`),
  dateFilter: oneArg('dateFilter', (col, c) => `${col} >= ${date(c.fromMs)} AND ${col} <= ${date(c.toMs)}`),
  timeFrom: oneArg('timeFrom', (col, c) => `${col} >= ${dateTime(c.fromMs)}`),
  timeTo: oneArg('timeTo', (col, c) => `${col} <= ${dateTime(c.toMs)}`),
  fromTime: (_a, c) => dateTime(c.fromMs),
  toTime: (_a, c) => dateTime(c.toMs),
  fromTime_ms: (_a, c) => dateTime64(c.fromMs),
  toTime_ms: (_a, c) => dateTime64(c.toMs),
  timeInterval: oneArg('timeInterval', (col, c) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${Math.max(Math.floor(c.intervalMs / 1000), 1)} second)`),
  timeInterval_ms: oneArg('timeInterval_ms', (col, c) => `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.max(Math.floor(c.intervalMs), 1)} millisecond)`),
  interval_s: (_a, c) => String(Math.max(Math.floor(c.intervalMs / 1000), 1)),
};

function timeMacros(sql: string, c: ExpandContext): string {
  let out = '';
  let i = 0;
  const re = /\$__(\w+)/g;
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const name = m[1]!;
    const macro = MACROS[name];
    if (!macro) throw new Error(`macro $__${name} is not expanded by grafana-clickhouse-datasource (or not modelled here): ${sql.slice(m.index, m.index + 60)}`);
    const afterName = m.index + m[0].length;
    let args: string[] = [];
    let end = afterName;
    if (sql[afterName] === '(') {
      const call = callArgs(sql, afterName);
      args = call.args.length === 1 && call.args[0]!.trim() === '' ? [] : call.args;
      end = call.end + 1;
    }
    out += sql.slice(i, m.index) + macro(args, c);
    i = end;
    re.lastIndex = end;
  }
  return out + sql.slice(i);
}

/** The SQL the plugin sends to ClickHouse for this panel query, time range, bucket and variable selection. */
export function expandGrafanaSql(rawSql: string, c: ExpandContext): string {
  return timeMacros(templateVariables(conditionalAll(rawSql, c.variables), c.variables), c);
}
