// One log line per request (method, path, status, duration, request id) and a child logger
// per request on ctx.state.log. The request id is Envoy's x-request-id when present, a new
// UUID otherwise, and is echoed back in the response.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';

declare module 'koa' {
  interface DefaultState {
    /** The request's logger, carrying its request id. */
    log: Logger;
  }
}

// Accept only a sane id from the client: it ends up in every log line of the request.
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export function requestLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const header = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(header) ? header : randomUUID();
    ctx.set('x-request-id', requestId);
    ctx.state.log = log.child({ requestId });
    try {
      await next();
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: no query string, no headers, no body. Successful health checks (the
      // edge asks every second) are logged at debug, so they do not drown the real traffic.
      const level = ctx.path === '/user/health' && ctx.status === 200 ? 'debug' : 'info';
      ctx.state.log[level](
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'request',
      );
    }
  };
}
