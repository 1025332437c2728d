// What every route module is built from: the app's dependencies and the few helpers all routes
// share (the database guard, the reply shape, the JSON body, the bound on hashing). createApp makes one kit and hands
// it to each module in routes/.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import bodyParser from 'koa-bodyparser';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, guarded, type DatabaseState } from '../database.js';
import { HttpError } from '../errors.js';
import { HashLimit } from '../hash-limit.js';
import type { Identity } from '../identity.js';
import type { LoginPolicy } from '../login-throttle.js';
import type { Repository, UserRow } from '../repository.js';
import type { TokenKeys } from '../tokens.js';

/** What the app is built from: the login throttle's numbers among them. */
export interface AppDeps extends LoginPolicy {
  repo: Repository;
  /** Set ready by prepareDatabase() once the schema is in place. */
  db: DatabaseState;
  identity: Identity;
  log: Logger;
  tokenKeys: TokenKeys;
  tokenTtlSeconds: number;
  scryptCost: number;
  scryptConcurrency: number;
  scryptQueue: number;
}

/** Largest accepted JSON body: a 2048-character fullname, every character \u-escaped, fits. */
export const JSON_LIMIT = '64kb';

export interface Kit {
  deps: AppDeps;
  /** A database call, guarded: 503 until the schema is ready or while PostgreSQL is away. */
  data: <T>(call: () => Promise<T>) => Promise<T>;
  /** The one success shape: ok, the body, and which replica answered. */
  reply: (ctx: Context, status: number, body: Record<string, unknown>) => void;
  /** Middleware for a route that takes a JSON body. */
  json: Middleware;
  /** The one bound on password hashing, shared by sign-up and login (hash-limit.ts). */
  hashing: HashLimit;
}

/** A route module: adds its routes to the router. */
export type Routes = (router: Router, kit: Kit) => void;

export function makeKit(deps: AppDeps): Kit {
  /*
   * Before the schema is ready no request has reached the database (ready never goes back to
   * false), so that 503 is safe to retry elsewhere: a replica just started by a rollout can be
   * in the edge's rotation a few milliseconds before it is.
   */
  const data = <T>(call: () => Promise<T>): Promise<T> => {
    if (!deps.db.ready) {
      return Promise.reject(
        new DatabaseUnavailableError(
          'the database is not reachable yet; the service keeps retrying',
          { retrySafe: true },
        ),
      );
    }
    return guarded(call);
  };
  const reply = (ctx: Context, status: number, body: Record<string, unknown>) => {
    ctx.status = status;
    ctx.body = { ok: true, ...body, ...deps.identity.fields() };
  };
  const hashing = new HashLimit(deps.scryptConcurrency, deps.scryptQueue);
  return { deps, data, reply, json: jsonBody(), hashing };
}

/**
 * A JSON body or nothing: other content types get 415 before anything is parsed. A
 * "__proto__" key is dropped while parsing (co-body's default refuses the whole body as
 * invalid JSON, though the API ignores fields it does not know): no prototype pollution.
 */
function jsonBody(): Middleware {
  const parseJson = bodyParser({
    enableTypes: ['json'],
    jsonLimit: JSON_LIMIT,
    strict: true,
    onProtoPoisoning: 'remove',
  } as bodyParser.Options);
  return async (ctx, next) => {
    if (ctx.request.is('json') === false) {
      throw new HttpError(415, 'send the body as JSON, with Content-Type: application/json');
    }
    try {
      await parseJson(ctx, () => Promise.resolve());
    } catch (err) {
      // Parse errors carry a status (errors.ts words them); a failed decompression does not.
      if (typeof (err as { status?: unknown }).status === 'number') throw err;
      throw new HttpError(400, 'request body could not be decoded; check its Content-Encoding');
    }
    await next();
  };
}

/** What the API shows of a user: never its password hash. */
export const publicUser = (user: UserRow) => ({
  username: user.username,
  uuid: user.uuid,
  fullname: user.fullname,
});

export const unauthorized = (message: string) =>
  new HttpError(401, message, { 'www-authenticate': 'Bearer' });
