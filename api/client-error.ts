import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers a request the HTTP parser refuses before any route sees it (an invalid character in a header, a request
 * that is both Content-Length and chunked, a header block over the limit, a request that never finished) in the
 * API's error shape `{ error, message, errors }`, then closes the connection: after a malformed request the next
 * byte's place in the stream is unknown, so nothing more is read from it. A whole pipelined request before the bad
 * one is answered first (its answer may still be on its way when the parser reaches the bad bytes).
 * Plain node:http, no framework: the API, OTLP and gateway listeners all use it.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A reset or a socket already gone: nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished && inFlight.req.complete) {
    // Answered once the earlier request's answer is out; if the socket closes first there is nobody to tell.
    // (When the bad bytes are the in-flight request's own body, it is that request that is refused, now.)
    inFlight.once('finish', () => answerClientError(err, socket));
    inFlight.once('close', () => socket.destroy());
    return;
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request line and headers are larger than the server accepts']
        : [400, 'invalid_request', `malformed HTTP request: ${reasonOf(err)}`];
  // A HEAD request gets the status and no body (a client reading a HEAD answer expects none).
  const body = isHead(err) ? '' : JSON.stringify({ error: code, message, errors: [message] });
  if (socket.writable) {
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n`;
    socket.write(body === '' ? `${head}\r\n` : `${head}Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Whether the refused request is a HEAD (as far as the bytes the parser failed on show). */
function isHead(err: Error & { rawPacket?: unknown }): boolean {
  return Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
}

/** The parser's reason in words people can act on (llhttp's `reason`, without its prefix). */
function reasonOf(err: Error & { reason?: unknown }): string {
  const reason = typeof err.reason === 'string' && err.reason !== '' ? err.reason : err.message;
  return reason.replace(/^Parse Error:\s*/, '').slice(0, 200) || 'unreadable';
}
