// The app factory: builds the Koa app from its dependencies. It never listens (server.ts
// does), so tests build one per test file against their own database. It composes: the
// middleware chain here, the routes in routes/ (each module owns its handlers).
import Router from '@koa/router';
import Koa from 'koa';
import { errorHandler, HttpError } from './errors.js';
import { requestLog } from './request-log.js';
import { makeKit, type AppDeps } from './routes/kit.js';
import { metaRoutes } from './routes/meta.js';
import { sessionRoutes } from './routes/sessions.js';
import { userRoutes } from './routes/users.js';

export function createApp(deps: AppDeps): Koa {
  const kit = makeKit(deps);
  // Case-sensitive, as the usernames are: /user/HEALTH is a (reserved) username, not the health check.
  const router = new Router({ prefix: '/user', sensitive: true });
  // The routes that are not users first: /user/health is not a user to PUT.
  for (const routes of [metaRoutes, userRoutes, sessionRoutes]) routes(router, kit);

  const app = new Koa();
  // Behind Envoy: trust X-Forwarded-* for ctx.ip and ctx.protocol.
  app.proxy = true;
  app.use(requestLog(deps.log));
  // Which version answered, as a header too: the edge writes it into its access log.
  app.use((ctx, next) => {
    ctx.set('x-service-version', deps.identity.version);
    return next();
  });
  app.use(errorHandler(deps.identity));
  // OPTIONS gets its Allow (set by allowedMethods below) as JSON, like every other answer.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'OPTIONS' && ctx.status === 200)
      kit.reply(ctx, 200, { allow: ctx.response.get('allow') });
  });
  app.use(router.routes());
  // A known path asked with a method it does not serve is a 405, and so is a method the router
  // has never heard of (TRACE, ...: it would say 501). errors.ts shapes both and adds Allow.
  const notAllowed = () => new HttpError(405, 'method not allowed on this resource');
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: notAllowed,
      notImplemented: notAllowed,
    }),
  );
  // Koa logs every error it sees to stderr by default; ours are already handled and logged.
  app.silent = true;
  return app;
}
