import { connect } from 'node:net';

/** One HTTP response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** Bytes after the last whole response (a truncated or unparsable answer). */
  rest: Buffer;
}

/**
 * Writes `bytes` as they are to 127.0.0.1:`port` (requests the HTTP client would refuse to send) and reads
 * until the server closes the connection. Each case ends its last request with `Connection: close` or is
 * refused, so the server closes; a server that keeps the socket open past `timeoutMs` fails the case.
 */
export function rawExchange(port: number, bytes: Buffer | string, timeoutMs = 10_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms; read so far: ${Buffer.concat(chunks).subarray(0, 300).toString('latin1')}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the server answered (it closed with our bytes unread) still leaves the answer to read.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponses(Buffer.concat(chunks)));
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

/** Splits what a server sent into responses (Content-Length or chunked bodies; no body for 1xx/204/304). */
export function parseResponses(data: Buffer): RawExchange {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [statusLine = '', ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    let pos = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status === 204 || status === 304 || status < 200) {
      // no body
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = data.indexOf('\r\n', pos);
        if (eol < 0) return { responses, rest: data.subarray(at) };
        const size = parseInt(data.subarray(pos, eol).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { responses, rest: data.subarray(at) };
        pos = eol + 2;
        if (size === 0) {
          pos += 2;
          break;
        }
        parts.push(data.subarray(pos, pos + size));
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (pos + n > data.length) return { responses, rest: data.subarray(at) };
      body = data.subarray(pos, pos + n);
      pos += n;
    } else {
      // HTTP/1.0 style: the body runs to the close.
      body = data.subarray(pos);
      pos = data.length;
    }
    responses.push({ status, headers, body });
    at = pos;
  }
  return { responses, rest: data.subarray(at) };
}
