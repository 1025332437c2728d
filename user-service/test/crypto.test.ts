// Unit tests of the password hash and the token, the two places where a subtle mistake is a
// security hole.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { hashPassword, verifyPassword } from '../src/passwords.js';
import { issueToken, verifyToken } from '../src/tokens.js';

const SECRET = randomBytes(32).toString('hex');

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

test('a token round-trips; tampering, another secret and expiry are refused', (t) => {
  const now = Date.now();
  const token = issueToken({ sub: 'ABC', name: 'alice' }, SECRET, 60, now);
  t.like(verifyToken(token, SECRET, now), { sub: 'ABC', name: 'alice' });
  t.is(verifyToken(token, `${SECRET}x`, now), null);
  t.is(verifyToken(token, SECRET, now + 61_000), null);
  const [h, p, s] = token.split('.') as [string, string, string];
  const forgedPayload = Buffer.from(
    JSON.stringify({ sub: 'ABC', name: 'alice', exp: 9e9 }),
  ).toString('base64url');
  t.is(verifyToken(`${h}.${forgedPayload}.${s}`, SECRET, now), null);
  t.is(verifyToken(`${h}.${p}`, SECRET, now), null);
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  t.is(verifyToken(`${none}.${p}.`, SECRET, now), null, 'alg none is refused');
  t.is(verifyToken('', SECRET, now), null);
});

test('a token has exactly one spelling: other last characters of the signature are refused', (t) => {
  const now = Date.now();
  const token = issueToken({ sub: 'ABC', name: 'alice' }, SECRET, 60, now);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // A 32-byte signature is 43 characters; the last one carries 2 unused bits, so Node's
  // lenient decoder maps 4 different characters to the same bytes.
  const accepted = [...alphabet].filter(
    (last) => verifyToken(token.slice(0, -1) + last, SECRET, now) !== null,
  );
  t.deepEqual(accepted, [token.at(-1)]);
  t.is(verifyToken(`${token}=`, SECRET, now), null, 'padding is refused');
  t.is(
    verifyToken(
      token.replace(/\.([^.]+)\./, (_m, p: string) => `.${p}+.`),
      SECRET,
      now,
    ),
    null,
    'characters outside base64url are refused',
  );
});
