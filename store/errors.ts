import { ClickHouseError } from '@clickhouse/client';
import { StoreError } from './port.ts';

// ClickHouse error codes (src/Common/ErrorCodes.cpp), grouped by what they mean for the rows being written.
// Only codes decide; the message text is for people and changes between versions.

/** The engine could not parse or convert the rows themselves: the same rows will fail again (poison). */
const MALFORMED = new Set([
  6, // CANNOT_PARSE_TEXT
  7, // INCORRECT_NUMBER_OF_COLUMNS
  19, // SIZE_OF_FIXED_STRING_DOESNT_MATCH
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  128, // TOO_LARGE_ARRAY_SIZE
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  407, // DECIMAL_OVERFLOW
  441, // CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING
  467, // CANNOT_PARSE_BOOL
]);

/** The statement is wrong or not allowed: a bug or a misconfiguration, not the rows and not a passing state. */
const REFUSED = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  36, // BAD_ARGUMENTS
  43, // ILLEGAL_TYPE_OF_ARGUMENT
  46, // UNKNOWN_FUNCTION
  47, // UNKNOWN_IDENTIFIER
  60, // UNKNOWN_TABLE
  62, // SYNTAX_ERROR
  81, // UNKNOWN_DATABASE
  115, // UNKNOWN_SETTING
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  291, // DATABASE_ACCESS_DENIED
  456, // UNKNOWN_QUERY_PARAMETER
  457, // BAD_QUERY_PARAMETER
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);
// Everything else with a code is retriable: NOT_ENOUGH_SPACE (243), TOO_MANY_PARTS (252), TIMEOUT_EXCEEDED (159),
// MEMORY_LIMIT_EXCEEDED (241), SOCKET_TIMEOUT (209), NETWORK_ERROR (210), CANNOT_WRITE_TO_FILE_DESCRIPTOR (75,
// which a full disk also raises), CANNOT_FSYNC (204), TABLE_IS_READ_ONLY (242), QUERY_WAS_CANCELLED (394), ...
// A code we do not know keeps the data (spooled, 503 once the spool is full) rather than throwing it away.

function kindOf(code: number): StoreError['kind'] {
  if (MALFORMED.has(code)) return 'malformed';
  if (REFUSED.has(code)) return 'refused';
  return 'unavailable';
}

/** A ClickHouse error code carried by an error from @clickhouse/client (string `code`) or chdb (`clickhouseCode`). */
function clickhouseCode(err: Error): number | undefined {
  const { code, clickhouseCode: native } = err as Error & { code?: unknown; clickhouseCode?: unknown };
  if (typeof native === 'number' && Number.isInteger(native)) return native;
  // chdb/connection brings its own copy of ClickHouseError, so `instanceof` alone misses embedded-engine errors.
  const isClientError = err instanceof ClickHouseError || err.name === 'ClickHouseError' || err.constructor.name === 'ClickHouseError';
  if (isClientError && typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  return undefined;
}

/**
 * Turns whatever the ClickHouse client, chdb or Node threw into a classified StoreError. Errors without a
 * ClickHouse code are transport or system failures (ENOSPC, ECONNRESET, the client's request timeout, ...):
 * retriable; chdb's own statement errors without a code are ours (refused).
 */
export function classifyStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof Error)) return new StoreError(message, 'unavailable', { cause: err });
  const code = clickhouseCode(err);
  if (code !== undefined) return new StoreError(message, kindOf(code), { cause: err, code });
  if (err.name === 'ChdbBindError' || err.name === 'ChdbSyntaxError') return new StoreError(message, 'refused', { cause: err });
  return new StoreError(message, 'unavailable', { cause: err });
}
