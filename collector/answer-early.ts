import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { EncodedBody } from './otlp/index.ts';

/** How long and how much of an unwanted body is read after an early answer, so the client can read that answer. */
export interface DrainBounds {
  /** Bytes read and dropped after the answer before the connection is closed anyway (default 64 MiB). */
  maxBytes: number;
  /** Time the client gets to finish sending after the answer (default 10 s). */
  maxMs: number;
  /** After our side is closed, time during which what the client still sends is read and dropped (default 2 s). */
  lingerMs: number;
}

export const DEFAULT_DRAIN: DrainBounds = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000, lingerMs: 2_000 };

/**
 * Answers a request whose body is still arriving (a 413, or a refusal found before the body was read) so that the
 * client can read the answer. Closing a socket with unread data makes the kernel send a reset, and a client that
 * is still uploading (node:http, curl) then often loses the answer it was sent. So the answer is written at once
 * with `Connection: close`, the rest of the body is read and dropped until the client finishes or a bound is
 * reached, then our side is closed and what still comes is dropped for a short linger before the socket goes.
 */
export function answerWhileStreaming(request: FastifyRequest, reply: FastifyReply, status: number, body: EncodedBody, bounds: DrainBounds, retryAfterSeconds?: number): void {
  void reply.hijack();
  const req = request.raw;
  const socket = req.socket;
  const payload = typeof body.body === 'string' ? Buffer.from(body.body) : body.body;
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: ${body.contentType}\r\ncontent-length: ${payload.length}\r\n` +
    (retryAfterSeconds !== undefined ? `retry-after: ${retryAfterSeconds}\r\n` : '') +
    'connection: close\r\n\r\n';
  socket.write(head);
  socket.write(payload);
  let drained = 0;
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    clearTimeout(deadline);
    socket.end();
    const linger = setTimeout(() => socket.destroy(), bounds.lingerMs);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  };
  const deadline = setTimeout(close, bounds.maxMs);
  deadline.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > bounds.maxBytes) close();
  });
  req.once('end', close);
  req.once('error', () => socket.destroy());
  req.resume();
}
