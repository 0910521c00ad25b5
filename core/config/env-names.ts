import { didYouMean } from '../schema/did-you-mean.ts';

/** The environment variables tollkeeper itself reads (docs/configuration.md, "Command line and environment"). */
export const ENV_NAMES = [
  'TOLLKEEPER_CONFIG',
  'TOLLKEEPER_DATA',
  'TOLLKEEPER_CLICKHOUSE_URL',
  'TOLLKEEPER_ADMIN_TOKEN',
  'TOLLKEEPER_GATEWAY_TOKEN',
  'TOLLKEEPER_METRICS_TOKEN',
  'TOLLKEEPER_OTLP_TOKEN',
  'TOLLKEEPER_SMTP_URL',
  'TOLLKEEPER_LOG_LEVEL',
] as const;

// Read by the gateway examples and the test suite, not by the server: set beside it on purpose, never a typo.
const OTHERS = new Set(['TOLLKEEPER_URL', 'TOLLKEEPER_CHROMIUM']);
const OTHER_PREFIXES = ['TOLLKEEPER_TEST_', 'TOLLKEEPER_FAULT_', 'TOLLKEEPER_FUZZ_'];

/**
 * One warning per TOLLKEEPER_* variable that tollkeeper does not read (a typo such as TOLLKEEPER_ADMIN_TOKN
 * would otherwise leave a generated token in place without a word). A warning, not an error: the environment
 * is shared with other tools.
 */
export function unknownEnvWarnings(env: Record<string, string | undefined>): string[] {
  const known: readonly string[] = ENV_NAMES;
  return Object.keys(env)
    .filter((name) => name.startsWith('TOLLKEEPER_') && !known.includes(name) && !OTHERS.has(name) && !OTHER_PREFIXES.some((p) => name.startsWith(p)))
    .sort()
    .map((name) => {
      const hint = didYouMean(name, ENV_NAMES);
      return `${name} is set but tollkeeper does not read it${hint ? ` (did you mean ${hint}?)` : ''}; the variables it reads are listed in docs/configuration.md`;
    });
}
