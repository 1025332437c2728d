// Who a request acts as: the token in Authorization, for the routes that change a user.
import type { Context } from 'koa';
import { HttpError } from '../errors.js';
import { tokenVerifier } from '../tokens.js';
import { unauthorized, type Kit } from './kit.js';

/**
 * The token in Authorization, checked (signature, issuer, audience, expiry: the edge checked
 * them too) and not revoked, and its owner, who must be `username`: else 401 or 403.
 */
export function bearerCheck({ deps, data }: Kit) {
  const verifyToken = tokenVerifier(deps.tokenKeys);
  const { repo } = deps;
  return async (ctx: Context, username: string) => {
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
}
