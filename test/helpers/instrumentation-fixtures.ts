import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One provider call as the fake provider answered it, counts in semconv meaning (see the fixtures README). */
export interface ExpectedCall {
  provider: string;
  model: string;
  request_model: string;
  stream: boolean;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}

export type ExpectedKind = 'api_key' | 'tenant' | 'user' | 'conversation' | 'service';

export interface Expected {
  family: string;
  scenario: string;
  calls: ExpectedCall[];
  requests: number;
  tool_calls: number;
  identity: Partial<Record<ExpectedKind, string>>;
  not_in_export?: string[];
  export_requests: number;
}

export interface InstrumentationFixture {
  /** `<family>/<scenario>` */
  name: string;
  expected: Expected;
  /** Each export request body, byte-for-byte as the exporter sent it. */
  bodies: string[];
  /** The whole `.otlp.json` text, to tell whether a value is anywhere in the export. */
  raw: string;
}

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/instrumentations/', import.meta.url));

/** Every `<family>/<scenario>.otlp.json` with its `.expected.json`, sorted by name. */
export function loadInstrumentationFixtures(dir = FIXTURE_DIR): InstrumentationFixture[] {
  const out: InstrumentationFixture[] = [];
  for (const family of readdirSync(dir).sort()) {
    const folder = join(dir, family);
    if (family === 'recorder' || !statSync(folder).isDirectory()) continue;
    for (const file of readdirSync(folder).sort()) {
      if (!file.endsWith('.expected.json')) continue;
      const scenario = file.slice(0, -'.expected.json'.length);
      const raw = readFileSync(join(folder, `${scenario}.otlp.json`), 'utf8');
      const doc = JSON.parse(raw) as { requests: unknown[] };
      out.push({
        name: `${family}/${scenario}`,
        expected: JSON.parse(readFileSync(join(folder, file), 'utf8')) as Expected,
        bodies: doc.requests.map((r) => JSON.stringify(r)),
        raw,
      });
    }
  }
  return out;
}
