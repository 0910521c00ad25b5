// Opens many connections that never finish their request (a slow-loris / stalled-body client), in a process of
// its own so its file descriptors do not count against the server's. argv: <host> <port:count>... Each
// connection sends a request head without its end, or a complete head with a body it never finishes.
// Prints "open <n> refused <m> closed <k>" once all have connected (refused: closed by the server at once, e.g.
// past its connection cap; closed: by a timeout while the others were still being opened), then
// "closed <n> after <ms>" when the server has closed every one it accepted.
import { connect, type Socket } from 'node:net';

const [host, ...targets] = process.argv.slice(2);
const plan = targets.map((t) => t.split(':').map(Number) as [number, number]);
const total = plan.reduce((a, [, n]) => a + n, 0);
const sockets: Socket[] = [];
let connected = 0;
let refused = 0;
let closed = 0;
let openedAt = 0;

function stall(port: number, i: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: host!, port });
    let done = false;
    const settle = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    s.on('connect', () => {
      connected++;
      s.write(
        i % 2 === 0
          ? 'GET /v1/revocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nobody\r\n' // head never ends
          : 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"resourceSpans":[', // body never ends
      );
      // A connection the server drops at once (its cap) is seen within a moment; give it that moment.
      setTimeout(settle, 20);
    });
    // Read (and drop) what the server answers, e.g. a 408: an unread socket never reports its close.
    s.resume();
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!done) refused++;
      else if (++closed + refused === total && openedAt > 0) process.stdout.write(`closed ${closed} after ${Date.now() - openedAt}\n`);
      settle();
    });
    sockets.push(s);
  });
}

// In waves, so the listen backlog never overflows (a dropped SYN is retried only after a second).
for (const [port, count] of plan) {
  for (let i = 0; i < count; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => stall(port, i + k)));
  }
}
openedAt = Date.now();
process.stdout.write(`open ${connected - refused - closed} refused ${refused} closed ${closed}\n`);
if (refused + closed === total) process.stdout.write(`closed ${closed} after 0\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
