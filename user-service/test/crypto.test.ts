// Unit tests of the password hash and the token, the two places where a subtle mistake is a
// security hole.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { calculateJwkThumbprint, decodeJwt, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { hashPassword, verifyPassword } from '../src/passwords.js';
import {
  AUDIENCE,
  ISSUER,
  issueToken,
  loadTokenKeys,
  newTokenKeys,
  tokenVerifier,
} from '../src/tokens.js';

const made = newTokenKeys();

test('a password verifies against its own hash only', async (t) => {
  const hash = await hashPassword('alicerules', 10);
  t.regex(hash, /^scrypt\$10\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  t.true(await verifyPassword('alicerules', hash));
  t.false(await verifyPassword('alicerule', hash));
  t.false(
    await verifyPassword(
      'alicerules',
      await hashPassword('alicerules', 10).then((h) => h.replace(/.$/, 'A')),
    ),
  );
  t.not(await hashPassword('alicerules', 10), hash, 'salted');
});

test('the hash carries its cost, so a later cost change keeps old hashes valid', async (t) => {
  const old = await hashPassword('bobrules1', 11);
  t.true(await verifyPassword('bobrules1', old));
  t.true((await hashPassword('bobrules1', 12)).startsWith('scrypt$12$'));
});

test('a malformed stored hash never matches and never throws', async (t) => {
  for (const stored of [
    '',
    'plaintext',
    'scrypt$10$8$1$c2FsdA==',
    'scrypt$99$8$1$c2FsdA==$a2V5',
    'bcrypt$x$y$z$a$b',
    'scrypt$10$8$1$c2FsdA==$',
  ]) {
    t.false(await verifyPassword('anything', stored), stored);
  }
});

test('OWASP cost (N = 2^17, r = 8, p = 1) works within scrypt memory limits', async (t) => {
  const hash = await hashPassword('owasp-level', 17);
  t.true(hash.startsWith('scrypt$17$8$1$'));
  t.true(await verifyPassword('owasp-level', hash));
});

test('a token round-trips with its claims; another key, tampering and expiry are refused', async (t) => {
  const keys = loadTokenKeys(made.pem, made.jwks);
  const verify = tokenVerifier(keys);
  const now = Date.now();
  const { token, claims } = await issueToken({ sub: 'ABC', name: 'alice' }, keys, 60, { now });
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as object;
  t.deepEqual(header, { alg: 'ES256', typ: 'JWT', kid: keys.kid });
  t.deepEqual(decodeJwt(token), {
    name: 'alice',
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'ABC',
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.iat + 60,
  });
  t.like(await verify(token, now), { sub: 'ABC', name: 'alice', jti: claims.jti });
  t.is(await verify(token, now + 61_000), null, 'expired');
  const other = newTokenKeys();
  const otherKeys = loadTokenKeys(other.pem, other.jwks);
  t.is(await tokenVerifier(otherKeys)(token, now), null, 'not published there');
  const [h, p, s] = token.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), exp: 9e9 })).toString(
    'base64url',
  );
  t.is(await verify(`${h}.${forged}.${s}`, now), null, 'a changed payload');
  t.is(await verify(`${h}.${p}`, now), null);
  t.is(await verify('', now), null);
  // Another key under this key's kid: its signature does not verify.
  const impostor = await issueToken(
    { sub: 'ABC', name: 'alice' },
    { ...otherKeys, kid: keys.kid },
    60,
    { now },
  );
  t.is(await verify(impostor.token, now), null, 'signed by another key claiming this kid');
  t.is(
    jti(await issueToken({ sub: 'ABC', name: 'alice' }, keys, 60, { now })),
    false,
    'each token its own jti',
  );
  function jti(second: { claims: { jti: string } }) {
    return second.claims.jti === claims.jti;
  }
});

test('alg none, HS256 keyed with the public key, another issuer or audience: refused', async (t) => {
  const keys = loadTokenKeys(made.pem, made.jwks);
  const verify = tokenVerifier(keys);
  const claims = { sub: 'ABC', name: 'alice', iss: ISSUER, aud: AUDIENCE, jti: 'j' };
  const none = new UnsecuredJWT(claims).setIssuedAt().setExpirationTime('1m').encode();
  t.is(await verify(none), null, 'alg none');
  // The classic confusion: the public key's bytes as an HMAC secret.
  const publicPem = createPublicKey(keys.privateKey).export({ format: 'pem', type: 'spki' });
  const hs256 = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: keys.kid })
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(Buffer.from(publicPem));
  t.is(await verify(hs256), null, 'HS256');
  for (const [iss, aud] of [
    ['someone-else', AUDIENCE],
    [ISSUER, 'another-api'],
  ]) {
    const token = await new SignJWT({ ...claims, iss, aud })
      .setProtectedHeader({ alg: 'ES256', kid: keys.kid })
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(keys.privateKey);
    t.is(await verify(token), null, `${iss} for ${aud}`);
  }
});

test('a token issued after a log-out-everywhere cut-off starts at it', async (t) => {
  const keys = loadTokenKeys(made.pem, made.jwks);
  const now = Date.now();
  const notBefore = Math.floor(now / 1000) + 1;
  const { claims } = await issueToken({ sub: 'A', name: 'a' }, keys, 60, { now, notBefore });
  t.is(claims.iat, notBefore);
  t.is(claims.exp, notBefore + 60);
  t.true(
    (await tokenVerifier(keys)(
      (await issueToken({ sub: 'A', name: 'a' }, keys, 60, { now, notBefore })).token,
      now,
    )) !== null,
  );
});

test('the key id is the RFC 7638 thumbprint (as jose computes it); the JWKS must publish the signing key', async (t) => {
  const keys = loadTokenKeys(made.pem, made.jwks);
  const [jwk] = (JSON.parse(made.jwks) as { keys: JWK[] }).keys;
  t.is(keys.kid, await calculateJwkThumbprint(jwk!));
  const other = newTokenKeys();
  t.throws(() => loadTokenKeys(made.pem, other.jwks), {
    message: /does not publish the signing key/,
  });
  t.throws(() => loadTokenKeys('not a key', made.jwks), { message: /no private key/ });
  t.throws(() => loadTokenKeys(made.pem, '{"keys": 1}'), { message: /holds no JWKS/ });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  });
  t.throws(() => loadTokenKeys(String(rsa), made.jwks), { message: /P-256/ });
  // A JWKS carrying a private member by mistake: only public members are served.
  const leaky = JSON.stringify({ keys: [{ ...jwk, d: 'secret' }] });
  t.false(JSON.stringify(loadTokenKeys(made.pem, leaky).jwks).includes('secret'));
});
