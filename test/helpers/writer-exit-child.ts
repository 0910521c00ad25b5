// Child process for the clean-exit test: runs a batch writer over embedded ClickHouse, closes everything,
// and then simply returns. If any timer or handle leaks, this process does not exit and the test times out.
import { join } from 'node:path';
import { createLogger } from '../../app/logger.ts';
import { createBatchWriter } from '../../collector/batch-writer.ts';
import { openSpool } from '../../collector/spool.ts';
import { openClickHouse } from '../../store/clickhouse.ts';
import { migrate } from '../../store/migrate.ts';
import { createUsageRepo } from '../../store/usage-repo.ts';
import { usageEvent } from './events.ts';
import { faultyRepo } from './faulty-repo.ts';

const [dir, mode] = process.argv.slice(2);
if (!dir || (mode !== 'healthy' && mode !== 'down')) throw new Error('usage: writer-exit-child.ts <dir> healthy|down');

const store = await openClickHouse({ kind: 'chdb', path: join(dir, 'clickhouse'), database: 'exit_test' });
await migrate(store);
const { repo, faults } = faultyRepo(createUsageRepo(store));
faults.down = mode === 'down';
const spool = await openSpool(join(dir, 'spool'), 16 * 1024 * 1024);
const writer = createBatchWriter({ repo, spool, logger: createLogger('silent'), batchSize: 1000, flushIntervalMs: 5_000, maxQueued: 100_000 });
const first = await writer.submit([usageEvent({ apiKey: 'exit' }), usageEvent({ apiKey: 'exit' })]);
// Queued behind a long flush interval, then a submit while closing: close must settle both.
let settledCount = 0;
const queued = writer.submit([usageEvent({ apiKey: 'exit' })]).finally(() => settledCount++);
const closing = writer.close();
const during = writer.submit([usageEvent({ apiKey: 'exit' })]).finally(() => settledCount++);
await closing;
const settled = settledCount === 2;
const stats = writer.stats();
await store.close();
process.stdout.write(JSON.stringify({ first, settled, queued: await queued, during: await during, stats }) + '\n');
