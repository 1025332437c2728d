// The app factory: builds the Koa app from its dependencies. It never listens (server.ts
// does), so tests build one per test file against their own database.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import bodyParser from 'koa-bodyparser';
import type { Logger } from 'pino';
import { DatabaseUnavailableError, guarded, type DatabaseState } from './database.js';
import { errorHandler, HttpError } from './errors.js';
import { BusyError, HashLimit } from './hash-limit.js';
import { CLIENT_ADDRESS_HEADER, clientNetwork } from './client-network.js';
import { loginThrottle, type LoginPolicy } from './login-throttle.js';
import type { Identity } from './identity.js';
import { dummyHash, hashPassword, verifyPassword } from './passwords.js';
import type { Repository, UserRow } from './repository.js';
import { requestLog } from './request-log.js';
import { issueToken, tokenVerifier, type TokenClaims, type TokenKeys } from './tokens.js';
import { requireObject, requireText, validateUsername } from './validate.js';

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

/** The API's OpenAPI 3 document (user-service/openapi.json), served at GET /user/openapi.json. */
const OPENAPI = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8');

/** Largest accepted JSON body: a 2048-character fullname, every character \u-escaped, fits. */
export const JSON_LIMIT = '64kb';

export function createApp(deps: AppDeps): Koa {
  const { repo, db, identity, tokenKeys, tokenTtlSeconds, scryptCost } = deps;
  const verifyToken = tokenVerifier(tokenKeys);
  const JWKS = JSON.stringify(tokenKeys.jwks);
  const hashing = new HashLimit(deps.scryptConcurrency, deps.scryptQueue);
  const throttle = loginThrottle(repo, deps);
  const unknownUserHash = dummyHash(scryptCost);
  // Swallow a rejection here; login awaits the same promise and reports it.
  unknownUserHash.catch(() => undefined);

  /**
   * A database call: 503 until the schema is ready, and 503 whenever PostgreSQL is unreachable.
   * Before the schema is ready no request has reached the database (ready never goes back to
   * false), so that 503 is safe to retry elsewhere: a replica just started by a rollout can be
   * in the edge's rotation a few milliseconds before it is.
   */
  const data = <T>(call: () => Promise<T>): Promise<T> => {
    if (!db.ready) {
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
    ctx.body = { ok: true, ...body, ...identity.fields() };
  };

  const publicUser = (user: UserRow) => ({
    username: user.username,
    uuid: user.uuid,
    fullname: user.fullname,
  });

  const expiry = (claims: TokenClaims) => new Date(claims.exp * 1000).toISOString();

  const unauthorized = (message: string) =>
    new HttpError(401, message, { 'www-authenticate': 'Bearer' });

  // A JSON body or nothing: other content types get 415 before anything is parsed. A
  // "__proto__" key is dropped while parsing (co-body's default refuses the whole body as
  // invalid JSON, though the API ignores fields it does not know): no prototype pollution.
  const parseJson = bodyParser({
    enableTypes: ['json'],
    jsonLimit: JSON_LIMIT,
    strict: true,
    onProtoPoisoning: 'remove',
  } as bodyParser.Options);
  const json: Middleware = async (ctx, next) => {
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

  // Case-sensitive, as the usernames are: /user/HEALTH is a (reserved) username, not the health check.
  const router = new Router({ prefix: '/user', sensitive: true });

  // /user/health and /user/openapi.json are not users: the user routes below must not claim
  // PUT or DELETE on them (nor advertise those in OPTIONS).
  const readOnly = (path: string) =>
    router.all(path, (ctx) => {
      const allow = 'GET, HEAD, OPTIONS';
      if (ctx.method !== 'OPTIONS')
        throw new HttpError(405, 'method not allowed on this resource', { allow });
      ctx.set('allow', allow);
      ctx.status = 200;
    });

  router.get('/health', async (ctx) => {
    const deep = ['1', 'true'].includes(String(ctx.query.deep));
    if (deep) await data(() => repo.ping());
    reply(ctx, 200, { msg: deep ? 'user health check OK; database OK' : 'user health check OK' });
  });
  readOnly('/health');

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = OPENAPI;
  });
  readOnly('/openapi.json');

  // The public keys tokens are checked against (tokens.ts): anyone may verify a token.
  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.type = 'application/jwk-set+json';
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = JWKS;
  });
  readOnly('/.well-known/jwks.json');

  /**
   * The token in Authorization, checked (signature, issuer, audience, expiry: the edge checked
   * them too) and not revoked, and its owner, who must be `username`: else 401 or 403.
   */
  const bearerOf = async (ctx: Context, username: string) => {
    const bearer = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(ctx.get('authorization'));
    if (!bearer?.[1])
      throw unauthorized(
        'send Authorization: Bearer <token>, with the token from POST /user/<username>/login',
      );
    const claims = await verifyToken(bearer[1]);
    if (!claims) throw unauthorized('the token is invalid or expired; log in again');
    const owner = await data(() => repo.tokenOwner(claims.sub, claims.jti, claims.iat));
    if (!owner)
      throw unauthorized('the user this token was issued to no longer exists; log in again');
    if (owner.revoked) throw unauthorized('the token was revoked (logged out); log in again');
    if (owner.user.username !== username) {
      const target = await data(() => repo.findByUsername(username));
      if (!target) throw new HttpError(404, `no user named "${username}"`);
      throw new HttpError(
        403,
        `this token belongs to "${owner.user.username}"; a user can only act as itself`,
      );
    }
    return { claims, owner: owner.user };
  };

  const SCOPES = ['local', 'global'];
  const scopeOf = (ctx: Context): 'local' | 'global' => {
    const raw = ctx.query.scope ?? 'local';
    if (typeof raw !== 'string' || !SCOPES.includes(raw))
      throw new HttpError(
        400,
        'scope must be local (this token) or global (every token of the user)',
      );
    return raw as 'local' | 'global';
  };

  router.put('/:username', json, async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const body = requireObject(ctx.request.body);
    const fullname = requireText(body, 'fullname', 1, 2048);
    const password = requireText(body, 'password', 8, 256);
    const taken = () => new HttpError(409, `username "${username}" is taken`);
    // A cheap early answer for a taken name, before the deliberately slow hash; the unique
    // constraint still decides races between simultaneous requests.
    if (await data(() => repo.findByUsername(username))) throw taken();
    const user: UserRow = {
      uuid: randomUUID().replaceAll('-', '').toUpperCase(),
      username,
      fullname,
      password: await hashing.run(() => hashPassword(password, scryptCost)),
    };
    const created = await data(() => repo.insertUser(user));
    if (!created) throw taken();
    ctx.set('location', `/user/${username}`);
    reply(ctx, 201, publicUser(created));
  });

  router.get('/:username', async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const user = await data(() => repo.findByUsername(username));
    if (!user) throw new HttpError(404, `no user named "${username}"`);
    reply(ctx, 200, publicUser(user));
  });

  router.post('/:username/login', json, async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    // Any string is checked, the empty one too (it simply never matches: passwords are 8+).
    const password = requireText(requireObject(ctx.request.body), 'password', 0, 256);
    // Counted before the password is checked; past the bound, a 429 and no hash
    // (login-throttle.ts). The client's network is the one the edge saw.
    const network = clientNetwork(ctx.get(CLIENT_ADDRESS_HEADER));
    const ticket = await data(() => throttle.attempt(username, network));
    const user = await data(() => repo.findByUsername(username));
    // Unknown users cost a hash too, so timing does not tell which names exist.
    const stored = user?.password ?? (await unknownUserHash);
    const matches = await hashing
      .run(() => verifyPassword(password, stored))
      .catch(async (err: unknown) => {
        if (err instanceof BusyError) await data(() => ticket.unchecked());
        throw err;
      });
    if (!user || !matches) throw unauthorized('username or password is incorrect');
    await data(() => ticket.succeeded());
    const notBefore = await data(() => repo.tokensNotBefore(user.uuid));
    const { token, claims } = await issueToken(
      { sub: user.uuid, name: user.username },
      tokenKeys,
      tokenTtlSeconds,
      { notBefore },
    );
    // A bearer token: no cache on the way may keep a copy.
    ctx.set('cache-control', 'no-store');
    reply(ctx, 200, { ...publicUser(user), token, expires_at: expiry(claims) });
  });

  // Logging out: this token (scope=local), or every token of the user (scope=global), refused
  // at once by every replica (the revocations are in the database).
  router.post('/:username/logout', async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const scope = scopeOf(ctx);
    const { claims, owner } = await bearerOf(ctx, username);
    if (scope === 'global') await data(() => repo.revokeAllTokens(owner.uuid));
    else await data(() => repo.revokeToken(claims.jti, claims.exp));
    reply(ctx, 200, { username, scope });
  });

  router.delete('/:username', async (ctx) => {
    const username = validateUsername(ctx.params.username ?? '');
    const { owner } = await bearerOf(ctx, username);
    if (!(await data(() => repo.deleteUser(username, owner.uuid))))
      throw new HttpError(404, `no user named "${username}"`);
    reply(ctx, 200, { username });
  });

  const app = new Koa();
  // Behind Envoy: trust X-Forwarded-* for ctx.ip and ctx.protocol.
  app.proxy = true;
  app.use(requestLog(deps.log));
  // Which version answered, as a header too: the edge writes it into its access log.
  app.use((ctx, next) => {
    ctx.set('x-service-version', identity.version);
    return next();
  });
  app.use(errorHandler(identity));
  // OPTIONS gets its Allow (set by allowedMethods below) as JSON, like every other answer.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'OPTIONS' && ctx.status === 200)
      reply(ctx, 200, { allow: ctx.response.get('allow') });
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
