// The ceiling server (bench/lib/http-load-ceiling.ts) in a process of its own, forked before the app starts: the app
// lowers the priority of every thread of its process but its gateway worker (`gateway.background_nice`), so a
// ceiling in the app's process would run at the background priority and no longer be the machine's ceiling.
// Answers `stats` with its worker's event-loop counters and scavenges; `stop` closes it and exits.
import { startCeilingServer, type CeilingReply, type CeilingRequest } from './http-load-ceiling.ts';

const send = (m: CeilingReply) => process.send?.(m);
const server = await startCeilingServer();
process.on('message', (m: CeilingRequest) => {
  if (m === 'stats') {
    const e = server.eventLoopUtilization();
    send({ t: 'stats', idle: e.idle, active: e.active, scavenges: server.scavenges });
  } else if (m === 'stop') {
    void server.close().then(() => {
      send({ t: 'stopped' });
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'listening', port: server.port, tid: server.osThreadId });
