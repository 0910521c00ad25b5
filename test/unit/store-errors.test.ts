// Store failures are classified by what they mean for the data, from the error's code or type (never its text):
// a full disk, too many parts, a timeout, memory pressure or the network → retry later (spool); a row the engine
// cannot parse → that row is poison; anything else about the statement → not the data's fault either.
import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { classifyStoreError } from '../../store/errors.ts';
import { StoreError } from '../../store/port.ts';

/** The shape @clickhouse/client gives a server (and chdb/connection) error: string code, type name. */
const serverError = (code: number, type: string) => new ClickHouseError({ message: `${type} (code ${code})`, code: String(code), type });

/** The shape chdb's own insert path throws: a Chdb* error with the engine's numeric code. */
function chdbError(code: number): Error {
  const e = new Error(`Code: ${code}. DB::Exception: something`) as Error & { code: string; clickhouseCode: number };
  e.name = 'ChdbInsertError';
  e.code = 'CHDB_INSERT';
  e.clickhouseCode = code;
  return e;
}

/** A Node system error (fs or socket). */
function systemError(code: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: system call failed`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = 'write';
  return e;
}

const RETRIABLE: [string, number][] = [
  ['NOT_ENOUGH_SPACE', 243],
  ['TOO_MANY_PARTS', 252],
  ['TIMEOUT_EXCEEDED', 159],
  ['MEMORY_LIMIT_EXCEEDED', 241],
  ['SOCKET_TIMEOUT', 209],
  ['NETWORK_ERROR', 210],
  ['TOO_MANY_SIMULTANEOUS_QUERIES', 202],
  ['CANNOT_WRITE_TO_FILE_DESCRIPTOR', 75],
  ['CANNOT_FSYNC', 204],
  ['CANNOT_ALLOCATE_MEMORY', 173],
];
const MALFORMED: [string, number][] = [
  ['CANNOT_PARSE_INPUT_ASSERTION_FAILED', 27],
  ['CANNOT_PARSE_DATETIME', 41],
  ['CANNOT_PARSE_NUMBER', 72],
  ['CANNOT_PARSE_ESCAPE_SEQUENCE', 25],
  ['TYPE_MISMATCH', 53],
  ['INCORRECT_DATA', 117],
];

describe('store error classification', () => {
  it.each(RETRIABLE)('%s (%i) from a server or chdb is retriable', (type, code) => {
    for (const err of [serverError(code, type), chdbError(code)]) {
      const c = classifyStoreError(err);
      expect(c).toBeInstanceOf(StoreError);
      expect([c.kind, c.retriable, c.code]).toEqual(['unavailable', true, code]);
    }
  });

  it.each(MALFORMED)('%s (%i) marks the rows as malformed', (type, code) => {
    for (const err of [serverError(code, type), chdbError(code)]) expect(classifyStoreError(err).kind).toBe('malformed');
  });

  it('a full disk, a dropped connection and a client timeout are retriable', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EIO']) {
      expect(classifyStoreError(systemError(code)).kind, code).toBe('unavailable');
    }
    // @clickhouse/client's request timeout: a plain Error without a code.
    expect(classifyStoreError(new Error('Timeout error.')).kind).toBe('unavailable');
  });

  it('an error about our statement is neither retriable nor the rows\' fault', () => {
    for (const [type, code] of [['SYNTAX_ERROR', 62], ['UNKNOWN_TABLE', 60], ['UNKNOWN_IDENTIFIER', 47]] as const) {
      const c = classifyStoreError(serverError(code, type));
      expect([c.kind, c.retriable]).toEqual(['refused', false]);
    }
  });

  it('ignores the message text: a parse error that mentions disk space is still malformed', () => {
    const err = new ClickHouseError({ message: 'Cannot reserve 1.00 MiB, not enough space.', code: '27', type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED' });
    expect(classifyStoreError(err).kind).toBe('malformed');
    const full = new ClickHouseError({ message: 'Cannot parse input', code: '243', type: 'NOT_ENOUGH_SPACE' });
    expect(classifyStoreError(full).kind).toBe('unavailable');
  });

  it('keeps a StoreError as it is, and the constructor still takes the old retriable flag', () => {
    const e = new StoreError('x', 'malformed');
    expect(classifyStoreError(e)).toBe(e);
    expect(new StoreError('y', true).kind).toBe('unavailable');
    expect(new StoreError('z', false).kind).toBe('refused');
  });
});
