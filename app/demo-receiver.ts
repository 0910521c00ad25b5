import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedAlert {
  type: string;
  entity: string;
  reason: string;
  webhookId: string;
  /** The Standard Webhooks signature checked with the subscriber's secret. */
  verified: boolean;
  at: number;
}

const MAX_BODY = 1024 * 1024;

function header(h: IncomingHttpHeaders, name: string): string {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/**
 * The demo's stand-in for an on-call tool: a webhook receiver on 127.0.0.1 that checks each delivery's signature
 * and hands the alert to `onAlert`. It answers 204 to anything well formed, 400 otherwise.
 */
export async function startAlertReceiver(onAlert: (a: ReceivedAlert) => void, now: () => number) {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const verifier = new Webhook(secret);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        verifier.verify(body, { 'webhook-id': header(req.headers, 'webhook-id'), 'webhook-timestamp': header(req.headers, 'webhook-timestamp'), 'webhook-signature': header(req.headers, 'webhook-signature') });
      } catch {
        verified = false;
      }
      try {
        const event = JSON.parse(body) as { type?: string; data?: { entity?: { kind?: string; id?: string }; reason?: string } };
        onAlert({
          type: event.type ?? '(no type)',
          entity: `${event.data?.entity?.kind ?? '?'} ${event.data?.entity?.id ?? '?'}`,
          reason: event.data?.reason ?? '',
          webhookId: header(req.headers, 'webhook-id'),
          verified,
          at: now(),
        });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/tollkeeper-alerts`,
    secret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
