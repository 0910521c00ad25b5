// Takes the data-directory lock in a process of its own (for tests, e.g. as PID 1 of a new pid namespace).
// argv: <dir> <crash|hold> [heartbeatMs]. Prints "locked <pid>" or "refused: <message>". `crash` exits at once
// without releasing the lock (as a killed process leaves it); `hold` keeps it until stdin closes.
import { DataDirInUseError, lockDataDir } from '../../store/data-lock.ts';

const [dir, mode, heartbeat] = process.argv.slice(2);
try {
  const release = await lockDataDir(dir!, heartbeat ? { heartbeatMs: Number(heartbeat) } : {});
  process.stdout.write(`locked ${process.pid}\n`);
  if (mode === 'crash') process.exit(0);
  process.stdin.resume();
  process.stdin.on('end', () => {
    release();
    process.exit(0);
  });
} catch (err) {
  if (!(err instanceof DataDirInUseError)) throw err;
  process.stdout.write(`refused: ${err.message}\n`);
  process.exit(3);
}
