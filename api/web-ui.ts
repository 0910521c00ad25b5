import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TollkeeperError } from '../core/errors.ts';
import type { WebAssets } from '../dashboards/web/build.ts';

// The page loads only its own script and styles; data comes from this origin's API with the token kept in
// sessionStorage. uPlot sets element styles from script, hence 'unsafe-inline' for styles only.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES = [
  ['/', 'The web UI page (sign in with the admin token)'],
  ['/ui/app.js', "The web UI's script"],
  ['/ui/app.css', "The web UI's styles"],
] as const;

export interface WebUiOptions {
  /** The bundled files by path (built once per process). */
  assets: () => Promise<WebAssets>;
}

/**
 * The built-in web UI: the page at `/` and its bundle under `/ui/`. These files hold no data and need no
 * token; every number on the page comes from the admin API, which does.
 */
export const webUiRoutes: FastifyPluginAsyncTypebox<WebUiOptions> = async (app, o) => {
  for (const [path, summary] of FILES) {
    app.get(path, { config: { auth: 'public' }, schema: { tags: ['web UI'], summary, response: { 200: Type.Unsafe<Buffer>({ type: 'string', description: 'HTML, JavaScript or CSS' }) } } }, async (_request, reply) => {
      const asset = (await o.assets()).get(path);
      if (!asset) throw new TollkeeperError('not_found', `no UI file ${path}`);
      return reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(asset.body);
    });
  }
};
