import { Type, type StaticDecode } from '@sinclair/typebox';
import { strict } from './schema-parts.ts';
import { authSection, serverSection, storeSection } from './schema-server.ts';
import { identitySection, ingestSection, pricingSection } from './schema-ingest.ts';
import { anomalySection, detectorSection, policiesSection } from './schema-detection.ts';
import { admissionSection, gatewaySection } from './schema-gateway.ts';
import { alertsSection } from './schema-alerts.ts';

export { configProblems, configWarnings } from './problems.ts';

/*
 * The configuration file, as one TypeBox schema: shapes, defaults (filled in before the check), and the
 * conversions to the values the code uses (durations to milliseconds, policies and actions to their parsed
 * forms). The policy schema is the one the admin API validates with. Each section lives in its own module
 * (schema-<area>.ts); the order here is the order of docs/configuration.md.
 */
export const configSchema = Type.Object(
  {
    server: serverSection,
    store: storeSection,
    auth: authSection,
    identity: identitySection,
    ingest: ingestSection,
    pricing: pricingSection,
    detector: detectorSection,
    policies: policiesSection,
    anomaly: anomalySection,
    gateway: gatewaySection,
    admission: admissionSection,
    alerts: alertsSection,
  },
  strict,
);

export type ParsedConfig = StaticDecode<typeof configSchema>;
