// The routes that are not users: the health check, the API's own description, the token keys.
// Each answers GET, HEAD and OPTIONS only: the user routes must not claim PUT or DELETE on
// them (nor advertise those in OPTIONS).
import { readFileSync } from 'node:fs';
import type Router from '@koa/router';
import { HttpError } from '../errors.js';
import type { Routes } from './kit.js';

/** The API's OpenAPI 3 document (user-service/openapi.json), served at GET /user/openapi.json. */
const OPENAPI = readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8');

function readOnly(router: Router, path: string): void {
  router.all(path, (ctx) => {
    const allow = 'GET, HEAD, OPTIONS';
    if (ctx.method !== 'OPTIONS')
      throw new HttpError(405, 'method not allowed on this resource', { allow });
    ctx.set('allow', allow);
    ctx.status = 200;
  });
}

export const metaRoutes: Routes = (router, { deps, data, reply }) => {
  router.get('/health', async (ctx) => {
    const deep = ['1', 'true'].includes(String(ctx.query.deep));
    if (deep) await data(() => deps.repo.ping());
    reply(ctx, 200, { msg: deep ? 'user health check OK; database OK' : 'user health check OK' });
  });
  readOnly(router, '/health');

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = OPENAPI;
  });
  readOnly(router, '/openapi.json');

  // The public keys tokens are checked against (tokens.ts): anyone may verify a token.
  const jwks = JSON.stringify(deps.tokenKeys.jwks);
  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.type = 'application/jwk-set+json';
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = jwks;
  });
  readOnly(router, '/.well-known/jwks.json');
};
