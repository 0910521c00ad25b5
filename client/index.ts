// The gateway client: importable alone (`tollkeeper/client`); it depends on node: built-ins and the pure
// enforcement core only (no ClickHouse, no fastify), which test/unit/client-imports.test.ts checks.
export { createAdmissionClient, RESERVATION_ATTRIBUTE, type AdmissionAnswer, type AdmissionClient, type AdmissionClientOptions, type CallEstimate } from './admission.ts';
export { createRevocationPoller, RevocationPoller, type ChangeEvent, type PollerOptions } from './revocation-poller.ts';
export { Buckets, decide, type Decision, type Denial, type EntityRef, type FailMode } from '../core/enforcement/decide.ts';
export { TokenBucket, bucketShape } from '../core/enforcement/token-bucket.ts';
export { denialHeaders } from '../core/enforcement/denial-headers.ts';
export type { Entry, Cause, ThrottleLimit } from '../core/enforcement/types.ts';
