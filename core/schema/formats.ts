import { FormatRegistry } from '@sinclair/typebox';
import { parseDuration } from '../quota/duration.ts';
import { validateTimezone } from '../quota/period.ts';

/**
 * String formats the schemas use, each with the problem it reports (the check is "no problem"). Registered in
 * TypeBox's format registry when this module loads, so any schema module that uses a format imports it.
 */
const problems = new Map<string, (v: string) => string | null>();

function define(name: string, problem: (v: string) => string | null): void {
  problems.set(name, problem);
  FormatRegistry.Set(name, (v) => problem(v) === null);
}

/** Why `value` is not in `format`, or undefined when the format is not one of ours. */
export function formatProblem(format: string, value: string): string | undefined {
  return problems.get(format)?.(value) ?? undefined;
}

define('duration', (v) => {
  const r = parseDuration(v);
  return r.ok ? null : r.error;
});

define('timezone', (v) => (validateTimezone(v) ? null : 'unknown time zone (use an IANA name such as UTC or Europe/Berlin)'));

define('date', (v) => (/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(v) && !Number.isNaN(Date.parse(v)) ? null : 'expected a date like 2026-01-31'));

// RFC 3339; a date alone (2026-01-31) is accepted where a range starts or ends.
define('date-time', (v) =>
  /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(v) && !Number.isNaN(Date.parse(v)) ? null : 'expected an RFC 3339 date-time like 2026-01-31T12:00:00Z',
);

define('uri', (v) => {
  try {
    new URL(v);
    return null;
  } catch {
    return 'expected a URL like http://localhost:8123';
  }
});
