// Login tokens: ES256 JWTs, made and checked with jose. The service signs with the install's
// current key (TOKEN_KEY_FILE, secrets/token-keys/current.pem, readable by it alone); anyone
// checks them against the public keys (TOKEN_JWKS_FILE, secrets/jwks.json, also served at
// GET /user/.well-known/jwks.json): the edge does, before a replica is bothered, and so does
// every replica. No secret is shared. Each token names its key (kid), so a rotation
// (meshctl rotate-keys) leaves the tokens of the previous key valid until they expire.
// A token names the user by uuid as well as by name, so it stops working when its user is
// deleted, even if the name is later taken again (the new user has a new uuid); its jti is
// what logging out revokes (app.ts, repository.ts).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet, type JWK } from 'jose';

/** Who issues tokens: the service's own mesh identity. */
export const ISSUER = 'spiffe://appmesh/usersvc';
/** Whom they are for: the user API behind the edge. */
export const AUDIENCE = 'appmesh/user';
export const ALGORITHM = 'ES256';
/** The longest a token may live (TOKEN_TTL_SECONDS' bound), and so how long a retired key stays published. */
export const MAX_TTL_SECONDS = 86_400;

export interface TokenClaims {
  /** The user's uuid. */
  sub: string;
  /** The username, for people who decode the token. */
  name: string;
  /** This token's id: what logging out revokes. */
  jti: string;
  /** Issued and expiry times, seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface TokenKeys {
  /** The signing key's id: its RFC 7638 thumbprint, as the JWKS names it. */
  kid: string;
  privateKey: KeyObject;
  /** The public keys tokens are checked against: the signing key's among them. */
  jwks: JSONWebKeySet;
}

/** Which of the two inputs is wrong, and how (config.ts names the variable). */
export class TokenKeyError extends Error {
  constructor(
    readonly input: 'key' | 'jwks',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A P-256 public key's RFC 7638 thumbprint. jose's calculateJwkThumbprint is async, and the
 * keys are read while the configuration is (synchronously); a test checks the two agree.
 */
export function thumbprint(jwk: JWK): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(members).digest('base64url');
}

/**
 * A new signing key and a JWKS publishing it, as the install's CA makes them
 * (scripts/mesh-ca/mesh-ca.sh): for meshctl dev --local and the tests, which have no install.
 */
export function newTokenKeys(): { pem: string; jwks: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const key = { ...jwk, kid: thumbprint(jwk), use: 'sig', alg: ALGORITHM };
  return {
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwks: JSON.stringify({ keys: [key] }),
  };
}

/** The signing key (PKCS#8 PEM, P-256) and the published keys (a JWKS holding its public half). */
export function loadTokenKeys(keyPem: string, jwksText: string): TokenKeys {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new TokenKeyError('key', 'holds no private key in PEM');
  }
  if (
    privateKey.asymmetricKeyType !== 'ec' ||
    privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  )
    throw new TokenKeyError('key', 'must hold a P-256 (ES256) key');
  const kid = thumbprint(createPublicKey(privateKey).export({ format: 'jwk' }));
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(jwksText) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys)) throw new Error();
    for (const key of jwks.keys) createPublicKey({ key: key as never, format: 'jwk' });
  } catch {
    throw new TokenKeyError('jwks', 'holds no JWKS ({"keys": [...]} of public keys)');
  }
  if (!jwks.keys.some((key) => key.kid === kid && thumbprint(key) === kid))
    throw new TokenKeyError('jwks', `does not publish the signing key (kid ${kid})`);
  // Only public halves leave the service: a JWKS with a private member is not served as it is.
  const keys = jwks.keys.map(({ kty, crv, x, y, kid: id, use, alg }) => ({
    kty,
    crv,
    x,
    y,
    kid: id,
    use,
    alg,
  }));
  return { kid, privateKey, jwks: { keys } };
}

/**
 * A token for `user`, valid for `ttlSeconds` from now, or from `notBefore` when that is later:
 * a user who logged out everywhere in this second must not get a token that the cut-off ends.
 */
export async function issueToken(
  user: { sub: string; name: string },
  keys: TokenKeys,
  ttlSeconds: number,
  { now = Date.now(), notBefore = 0 } = {},
): Promise<{ token: string; claims: TokenClaims }> {
  const iat = Math.max(Math.floor(now / 1000), notBefore);
  const claims: TokenClaims = { ...user, jti: randomUUID(), iat, exp: iat + ttlSeconds };
  const token = await new SignJWT({ name: claims.name })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: keys.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(keys.privateKey);
  return { token, claims };
}

/** Checks tokens against the published keys: the claims of a valid, unexpired one, else null. */
export function tokenVerifier(
  keys: TokenKeys,
): (token: string, now?: number) => Promise<TokenClaims | null> {
  const keySet = createLocalJWKSet(keys.jwks);
  return async (token, now = Date.now()) => {
    try {
      const { payload } = await jwtVerify(token, keySet, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        currentDate: new Date(now),
      });
      const { sub, name, jti, iat, exp } = payload;
      if (typeof name !== 'string' || typeof sub !== 'string' || typeof jti !== 'string')
        return null;
      return { sub, name, jti, iat: iat!, exp: exp! };
    } catch {
      return null;
    }
  };
}
