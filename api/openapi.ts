import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import pkg from '../package.json' with { type: 'json' };

const DESCRIPTION = `Quota management and denial-of-wallet defense for AI platforms.

Authenticate with \`Authorization: Bearer <token>\`: the admin token can call everything; the gateway token can
read the revocation list and quota status and ask for forward-auth decisions (it may also be sent in
\`x-tollkeeper-gateway-token\`). A missing or unknown token is 401 and a token without the right is 403, both
before the request is validated. Errors are \`{ error, message, errors }\` with a stable \`error\` code.`;

/**
 * Collects every route's schemas into an OpenAPI 3.1 document. Registered before the routes (it listens for
 * them as they are added); each route's auth level becomes its security requirement.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'tollkeeper API', version: pkg.version, description: DESCRIPTION, license: { name: pkg.license, identifier: pkg.license } },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the admin token, or the gateway token where the route allows it' } } },
        tags: [
          { name: 'health', description: 'liveness and readiness, no auth' },
          { name: 'enforcement', description: 'the revocation list and the inbound enforcement API' },
          { name: 'gateways', description: 'forward-auth for NGINX, Envoy and Traefik' },
          { name: 'policies', description: 'quota policies and per-entity overrides' },
          { name: 'quotas', description: 'quota status' },
          { name: 'incidents', description: 'denial-of-wallet incidents' },
          { name: 'usage', description: 'unpriced usage and re-rating' },
          { name: 'alerts', description: 'outbound alert deliveries and redelivery' },
        ],
      },
      transform: ({ schema, url, route }) => {
        const auth = route.config?.auth ?? 'admin';
        const security = auth === 'public' || auth === 'otlp' ? [] : [{ bearer: [] }];
        return { schema: { ...schema, security }, url };
      },
    });
  },
  { name: 'tollkeeper-openapi', dependencies: ['tollkeeper-auth'] },
);

/** `GET /openapi.json` and the reference page at `/docs` (Swagger UI, its assets served from the package). No auth. */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(async (docs) => {
    // The UI's own routes (page, assets, its copy of the document) are public like the document.
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'public' };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { url: '/openapi.json', deepLinking: true, docExpansion: 'list' } });
  });
}
