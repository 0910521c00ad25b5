// What one benchmark reports: the runner (run.ts), the child side (harness.ts) and the markdown writer share it.

export interface Table {
  caption?: string;
  columns: string[];
  rows: string[][];
}

export interface BenchResult {
  title: string;
  /** One line each: how the numbers were obtained. */
  method: string[];
  tables: Table[];
  notes?: string[];
  /** Output that could not be put in a table, shown verbatim. */
  raw?: string;
  /** Anything that makes the numbers suspect (e.g. stored rows != sent spans); the runner prints these loudly. */
  problems?: string[];
}
