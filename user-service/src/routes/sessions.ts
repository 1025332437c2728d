// Logging in (a password for a token) and out (revoking one token, or all of a user's).
import type { Context } from 'koa';
import { CLIENT_ADDRESS_HEADER, clientNetwork } from '../client-network.js';
import { HttpError } from '../errors.js';
import { BusyError } from '../hash-limit.js';
import { loginThrottle } from '../login-throttle.js';
import { dummyHash, verifyPassword } from '../passwords.js';
import { issueToken } from '../tokens.js';
import { requireObject, requireText, validateUsername } from '../validate.js';
import { bearerCheck } from './bearer.js';
import { publicUser, unauthorized, type Routes } from './kit.js';

const SCOPES = ['local', 'global'];
function scopeOf(ctx: Context): 'local' | 'global' {
  const raw = ctx.query.scope ?? 'local';
  if (typeof raw !== 'string' || !SCOPES.includes(raw))
    throw new HttpError(
      400,
      'scope must be local (this token) or global (every token of the user)',
    );
  return raw as 'local' | 'global';
}

export const sessionRoutes: Routes = (router, kit) => {
  const { deps, data, reply, json, hashing } = kit;
  const { repo, tokenKeys, tokenTtlSeconds } = deps;
  const bearerOf = bearerCheck(kit);
  const throttle = loginThrottle(repo, deps);
  const unknownUserHash = dummyHash(deps.scryptCost);
  // Swallow a rejection here; login awaits the same promise and reports it.
  unknownUserHash.catch(() => undefined);

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
    const expires_at = new Date(claims.exp * 1000).toISOString();
    reply(ctx, 200, { ...publicUser(user), token, expires_at });
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
};
