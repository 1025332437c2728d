// The one error-handling middleware, first in the chain: every failure leaves as JSON
// {ok: false, error, request_id, hostname, resolvedname} with a real HTTP status (the edge's
// and the sidecars' own answers have the same shape: envoy/*.yaml local_reply_config). Client mistakes get
// their 4xx; an unexpected error gets a 500 with a generic message, and the details go to the log.
import type { Context, Middleware } from 'koa';
import type { Identity } from './identity.js';
import { DatabaseUnavailableError } from './database.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

// Errors raised by koa-bodyparser (co-body / raw-body) carry a `type`; their messages are not
// meant for clients (`expose` is unset), so each gets a sentence of our own.
const BODY_ERRORS: Record<string, [number, string]> = {
  'entity.parse.failed': [400, 'request body is not valid JSON'],
  'entity.too.large': [413, 'request body is too large'],
  'entity.verify.failed': [400, 'request body could not be read'],
  'request.aborted': [400, 'request body was not received completely'],
  'request.size.invalid': [400, 'request body length does not match Content-Length'],
  'encoding.unsupported': [
    415,
    'request body encoding is not supported; send identity, gzip or deflate',
  ],
  'charset.unsupported': [415, 'request body charset is not supported; send UTF-8 JSON'],
};

const STATUS_MESSAGES: Record<number, string> = {
  404: 'no such resource',
  405: 'method not allowed on this resource',
  501: 'method not implemented',
};

interface KoaLikeError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  message?: unknown;
}

function toResponse(
  err: unknown,
): { status: number; message: string; headers: Record<string, string> } | null {
  if (err instanceof HttpError)
    return { status: err.status, message: err.message, headers: err.headers };
  if (err instanceof DatabaseUnavailableError) {
    return {
      status: 503,
      message: err.message,
      headers: { 'retry-after': '2', ...(err.retrySafe ? { 'x-mesh-retry-safe': 'true' } : {}) },
    };
  }
  if (typeof err !== 'object' || err === null) return null;
  const e = err as KoaLikeError;
  if (typeof e.type === 'string' && e.type in BODY_ERRORS) {
    const [status, message] = BODY_ERRORS[e.type]!;
    return { status, message, headers: {} };
  }
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
  // co-body's JSON.parse failures (and its strict "objects and arrays only" check).
  if (err instanceof SyntaxError && status === 400) {
    return { status, message: 'request body is not valid JSON (send an object)', headers: {} };
  }
  if (status >= 400 && status < 500) {
    const message =
      e.expose === true && typeof e.message === 'string'
        ? e.message
        : (STATUS_MESSAGES[status] ?? 'bad request');
    return { status, message, headers: {} };
  }
  return null;
}

/** The methods of every route whose path matched (@koa/router's ctx.matched), for Allow. */
function allowedMethods(ctx: Context): string {
  const matched = (ctx as { matched?: { methods: string[] }[] }).matched ?? [];
  return [...new Set(matched.flatMap((layer) => layer.methods))].join(', ');
}

export function errorHandler(identity: Identity): Middleware {
  const body = (ctx: Context, error: string) => ({
    ok: false,
    error,
    request_id: ctx.response.get('x-request-id') || null,
    ...identity.fields(),
  });
  return async (ctx, next) => {
    try {
      await next();
      // Nothing answered (unknown path) or the router set 405/501 without a body.
      if (ctx.body == null && ctx.status >= 400) {
        const status = ctx.status;
        ctx.body = body(ctx, STATUS_MESSAGES[status] ?? 'request failed');
        ctx.status = status; // assigning a body would otherwise turn it into a 200
      }
    } catch (err) {
      let response = toResponse(err);
      if (response === null) {
        ctx.state.log.error({ err }, 'unhandled error');
        response = {
          status: 500,
          message: 'internal error; the details are in the service log',
          headers: {},
        };
      } else if (err instanceof DatabaseUnavailableError) {
        ctx.state.log.warn({ err: err.cause ?? err }, 'database unavailable');
      }
      ctx.status = response.status;
      ctx.set(response.headers);
      if (response.status === 405 && !ctx.response.get('allow'))
        ctx.set('allow', allowedMethods(ctx));
      ctx.body = body(ctx, response.message);
    }
  };
}
