import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

export interface ReceivedHook {
  id: string;
  timestamp: string;
  body: string;
  json: unknown;
  /** The signature verified with the subscriber's secret (always true for Slack-format hooks, which are unsigned). */
  verified: boolean;
  receivedAt: number;
}

export type HookBehaviour = (req: IncomingMessage, res: ServerResponse, body: string) => boolean;

/**
 * A webhook receiver on 127.0.0.1 that verifies Standard Webhooks signatures. `behave` may answer first (to
 * simulate 500, 410 or a hang); otherwise 204. `stop()` and `start()` take it down and up on the same port.
 */
export async function startHookReceiver(secret: string | undefined, port = 0) {
  const hooks: ReceivedHook[] = [];
  const wh = secret ? (secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' })) : undefined;
  let behave: HookBehaviour | undefined;
  let server: Server | undefined;
  let boundPort = port;
  const hanging = new Set<ServerResponse>();

  async function start(): Promise<void> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (behave?.(req, res, body)) {
          if (!res.writableEnded) hanging.add(res);
          return;
        }
        const headers = { 'webhook-id': String(req.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(req.headers['webhook-signature'] ?? '') };
        let verified = wh === undefined;
        if (wh) {
          try {
            wh.verify(body, headers);
            verified = true;
          } catch {
            verified = false;
          }
        }
        hooks.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body, json: JSON.parse(body) as unknown, verified, receivedAt: Date.now() });
        res.writeHead(verified ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (server.address() as AddressInfo).port;
  }

  await start();
  return {
    hooks,
    get url() {
      return `http://127.0.0.1:${boundPort}/hooks`;
    },
    setBehaviour(b: HookBehaviour | undefined) {
      behave = b;
    },
    start,
    async stop() {
      for (const r of hanging) r.destroy();
      hanging.clear();
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()).closeAllConnections());
    },
  };
}

export interface ReceivedMail {
  parsed: ParsedMail;
  rcpt: string[];
  receivedAt: number;
}

/** An SMTP server on 127.0.0.1 (no TLS, no auth) that parses every mail; `stop()`/`start()` on the same port. */
export async function startSmtp(port = 0) {
  const mails: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  let boundPort = port;
  async function start(): Promise<void> {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, cb) {
        simpleParser(stream, { keepCidLinks: true })
          .then((parsed) => {
            mails.push({ parsed, rcpt: session.envelope.rcptTo.map((r) => r.address), receivedAt: Date.now() });
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (server.server.address() as AddressInfo).port;
  }
  await start();
  return {
    mails,
    get url() {
      return `smtp://127.0.0.1:${boundPort}`;
    },
    start,
    async stop() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** Slack's Block Kit limits that make it refuse a whole message (400 `invalid_blocks`); [] when it would accept it. */
export function slackRefusals(body: string): string[] {
  const msg = JSON.parse(body) as { text?: unknown; blocks?: { type: string; text?: { text: string }; elements?: { text: string }[] }[] };
  const out: string[] = [];
  if (typeof msg.text !== 'string' || msg.text.length === 0) out.push('no text');
  const blocks = msg.blocks ?? [];
  if (blocks.length > 50) out.push(`${blocks.length} blocks (at most 50)`);
  for (const [i, b] of blocks.entries()) {
    for (const t of [b.text?.text, ...(b.elements ?? []).map((e) => e.text)]) {
      if (t === undefined) continue;
      if (t.length === 0 || t.length > 3000) out.push(`blocks[${i}] (${b.type}): text of ${t.length} characters (1 to 3000)`);
    }
    if ((b.elements ?? []).length > 10) out.push(`blocks[${i}]: more than 10 elements`);
  }
  return out;
}
