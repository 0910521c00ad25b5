import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { didYouMean } from './did-you-mean.ts';
import { formatProblem } from './formats.ts';

/**
 * Problems of a value against a TypeBox schema, one line each: the path, what was expected and the value
 * given (`limits.cost_usd: expected a number > 0 (got -5)`). Unknown keys name the closest known key. The
 * config file and the HTTP API both report through this, so a policy gets the same messages in both.
 */
export function describeErrors(schema: TSchema, value: unknown, root = ''): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const e of collect([...Value.Errors(schema, value)])) {
    // A missing required property is reported once, not again as "expected a string" at the same path.
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    lines.push(line(e, root));
  }
  return lines;
}

/** `/policies/0/limits` → `policies[0].limits`, after `root` when given (the top level is `(top level)`). */
export function pathText(pointer: string, root = ''): string {
  let s = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    s += /^\d+$/.test(part) ? `[${part}]` : s === '' ? part : `.${part}`;
  }
  return s || '(top level)';
}

/**
 * JSON text of `v` as JSON.stringify writes it, but cut once it is longer than `max`: it walks no more of the value
 * than it shows, so a huge or deeply nested value (a hostile request body) costs little and never overflows the stack.
 */
function boundedJson(v: unknown, max: number): string | undefined {
  let out = '';
  const walk = (x: unknown, inArray: boolean): void => {
    if (x === null || typeof x !== 'object' || typeof (x as { toJSON?: unknown }).toJSON === 'function') {
      const text = typeof x === 'bigint' ? String(x) : JSON.stringify(typeof x === 'string' && x.length > max ? x.slice(0, max + 1) : x);
      out += text ?? (inArray ? 'null' : '');
      return;
    }
    const array = Array.isArray(x);
    out += array ? '[' : '{';
    let first = true;
    for (const key in x) {
      if (out.length > max) return;
      const item = (x as Record<string, unknown>)[key];
      if (!array && (item === undefined || typeof item === 'function')) continue;
      out += (first ? '' : ',') + (array ? '' : `${JSON.stringify(key)}:`);
      first = false;
      walk(item, array);
    }
    out += array ? ']' : '}';
  };
  walk(v, false);
  return out === '' ? undefined : out;
}

/** A short rendering of a value for a message; credentials inside a URL (scheme://user:password@) never show. */
export function show(v: unknown): string {
  const s = boundedJson(v, 400);
  if (s === undefined) return String(v);
  const safe = s.replace(/(\/\/[^/:@"\s]*):[^@"\s]*@/g, '$1:***@');
  return safe.length > 60 ? safe.slice(0, 57) + '...' : safe;
}

/** Keys whose values are secret (tokens, passwords, webhook secrets, the hash key, the SMTP URL). */
const SECRET_KEY = /(^|_)(token|password|secret|hash_key|smtp_url)$/;

/** A problem with a secret names its path and never its value. */
function isSecretPointer(pointer: string): boolean {
  return pointer.split('/').some((part) => SECRET_KEY.test(part));
}

function formatName(schema: unknown): string {
  const format = (schema as { format?: unknown }).format;
  return typeof format === 'string' ? `a ${format}` : 'a valid value';
}

function hidden(v: unknown): string {
  return typeof v === 'string' ? `a hidden value of ${v.length} characters` : `a hidden ${Array.isArray(v) ? 'list' : typeof v}`;
}

function line(e: ValueError, root: string): string {
  const where = pathText(e.path, root);
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const key = where.split(/[.[]/).pop() ?? '';
    const known = Object.keys((e.schema as { properties?: Record<string, unknown> }).properties ?? {});
    const hint = didYouMean(key, known);
    return `${where}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`;
  }
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `${where}: required`;
  if (isSecretPointer(e.path)) {
    // The explanation may quote the value (a format check): say what was expected without it.
    const expected = typeof e.value === 'string' && e.value !== '' && expectation(e).includes(e.value) ? `expected ${formatName(e.schema)}` : expectation(e);
    return `${where}: ${expected}${e.value === undefined ? '' : ` (got ${hidden(e.value)})`}`;
  }
  const expected = expectation(e);
  // Some explanations already quote the value (`invalid duration "soon": …`).
  // A message that already quotes the string it refused needs no "(got …)"; a number inside one (the 0 of "500ms") is no quote.
  const got = e.value === undefined || (typeof e.value === 'string' && expected.includes(show(e.value))) ? '' : ` (got ${show(e.value)})`;
  return `${where}: ${expected}${got}`;
}

// Errors that say a value has another type than the schema's (as opposed to breaking one of its constraints).
const TYPE_MISMATCH = new Set<ValueErrorType>([
  ValueErrorType.Array,
  ValueErrorType.Boolean,
  ValueErrorType.Integer,
  ValueErrorType.Literal,
  ValueErrorType.Null,
  ValueErrorType.Number,
  ValueErrorType.Object,
  ValueErrorType.String,
  ValueErrorType.Union,
]);

/**
 * Replaces each union error by the errors of the variant the value came closest to: among the variants whose
 * type the value has (no type mismatch at the union's own path), the one with the fewest problems. When no
 * variant fits, or several fit equally well, the union's own error stands ("expected … or …").
 */
function collect(errors: readonly ValueError[]): ValueError[] {
  const out: ValueError[] = [];
  for (const e of errors) {
    if (e.type !== ValueErrorType.Union || e.errors.length === 0) {
      out.push(e);
      continue;
    }
    const variants = e.errors.map((it) => collect([...it]));
    const fitting = variants.filter((v) => !v.some((x) => x.path === e.path && TYPE_MISMATCH.has(x.type))).sort((a, b) => a.length - b.length);
    const best = fitting[0];
    if (best && (fitting.length === 1 || fitting[1]!.length > best.length)) out.push(...best);
    else out.push(e);
  }
  return out;
}

/** A problem found after the schema check (by a conversion), at a path below where it was raised. */
export class PathError extends Error {
  readonly subpath: string;
  constructor(subpath: string, message: string) {
    super(message);
    this.name = 'PathError';
    this.subpath = subpath;
  }
}

/** `policies[0]` + `period` → `policies[0].period`. */
export function joinPath(base: string, sub: string): string {
  if (!sub) return base;
  if (!base || base === '(top level)') return sub;
  return sub.startsWith('[') ? base + sub : `${base}.${sub}`;
}

/** What the schema at an error wanted, in the product's words; a schema may set its own `errorMessage`. */
function expectation(e: ValueError): string {
  const s = e.schema as Record<string, unknown> & { anyOf?: TSchema[] };
  // A schema's own message explains its constraints (pattern, format, minimum sizes), not type mismatches.
  const constraint = [ValueErrorType.StringPattern, ValueErrorType.StringFormat, ValueErrorType.ObjectMinProperties, ValueErrorType.ArrayMinItems].includes(e.type);
  if (constraint && typeof s.errorMessage === 'string') return s.errorMessage;
  switch (e.type) {
    case ValueErrorType.Union: {
      const variants = s.anyOf ?? [];
      if (variants.every((v) => 'const' in v)) return `expected one of ${variants.map(kindOf).join(', ')}`;
      return `expected ${variants.map(kindOf).join(' or ')}`;
    }
    case ValueErrorType.Literal:
      return `expected ${show(s.const)}`;
    case ValueErrorType.String:
      // A formatted string (a duration, a time zone) says which form it wants: `socket: 0` is not "a string" to a user.
      return typeof s.format === 'string' && typeof s.description === 'string' ? `expected ${s.description}` : 'expected a string';
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'expected a non-empty string' : `expected at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `expected at most ${String(s.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      return `expected a string matching ${String(s.pattern)}`;
    case ValueErrorType.StringFormat:
      return (typeof e.value === 'string' ? formatProblem(String(s.format), e.value) : undefined) ?? `expected a ${String(s.format)}`;
    case ValueErrorType.Number:
      return 'expected a number';
    case ValueErrorType.Integer:
      return 'expected an integer';
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return `expected a number > ${String(s.exclusiveMinimum)}`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `expected a number ≥ ${String(s.minimum)}`;
    case ValueErrorType.NumberExclusiveMaximum:
    case ValueErrorType.IntegerExclusiveMaximum:
      return `expected a number < ${String(s.exclusiveMaximum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `expected a number ≤ ${String(s.maximum)}`;
    case ValueErrorType.Boolean:
      return 'expected true or false';
    case ValueErrorType.Array:
      return 'expected a list';
    case ValueErrorType.ArrayMinItems:
      return `expected at least ${String(s.minItems)} item${s.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `expected at most ${String(s.maxItems)} items`;
    case ValueErrorType.Object:
      return 'expected a mapping';
    case ValueErrorType.ObjectMinProperties:
      return `expected at least ${String(s.minProperties)} key${s.minProperties === 1 ? '' : 's'}`;
    default:
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
  }
}

function kindOf(s: TSchema): string {
  const x = s as Record<string, unknown>;
  if ('const' in x) return show(x.const);
  if (x.type === 'object') {
    const keys = Object.keys((x.properties as Record<string, unknown> | undefined) ?? {});
    return keys.length === 1 ? `{ ${keys[0]}: … }` : 'a mapping';
  }
  if (x.type === 'array') return 'a list';
  if (x.type === 'integer') return 'an integer';
  if (typeof x.type === 'string') return `a ${x.type}`;
  return 'a value of another kind';
}
