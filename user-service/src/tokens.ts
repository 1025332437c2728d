// Login tokens: compact JWTs (HS256) signed with TOKEN_SECRET. Any replica holding the same
// secret accepts them. A token names the user by uuid as well as by name, so it stops working
// when its user is deleted, even if the name is later taken again (the new user has a new uuid).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** The user's uuid. */
  sub: string;
  /** The username, for people who decode the token. */
  name: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function issueToken(
  claims: Omit<TokenClaims, 'exp'>,
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
): string {
  const payload: TokenClaims = { ...claims, exp: Math.floor(now / 1000) + ttlSeconds };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${sign(body, secret).toString('base64url')}`;
}

/**
 * Strict base64url: only the URL alphabet, no padding, and the canonical encoding. Node's
 * decoder ignores a last character's unused bits, so 4 different signatures would otherwise
 * decode to the same bytes; a token has exactly one spelling.
 */
function decodeBase64url(text: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

/** The claims of a valid, unexpired token; null for anything else. Never throws. */
export function verifyToken(token: string, secret: string, now = Date.now()): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return null;
  const expected = sign(`${parts[0]}.${parts[1]}`, secret);
  const actual = decodeBase64url(parts[2] ?? '');
  if (!actual || actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return null;
  const payload = decodeBase64url(parts[1] ?? '');
  if (!payload) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null) return null;
  const { sub, name, exp } = claims as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof name !== 'string' || typeof exp !== 'number') return null;
  if (exp * 1000 <= now) return null;
  return { sub, name, exp };
}
