// Password hashing with scrypt from node:crypto. The stored form carries its own parameters,
// so the cost can be raised later without invalidating existing hashes:
//   scrypt$<log2 N>$<r>$<p>$<salt, base64>$<key, base64>
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const R = 8;
const P = 1;

function derive(
  password: string,
  salt: Buffer,
  logN: number,
  r: number,
  p: number,
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** logN,
    r,
    p,
    maxmem: 256 * 2 ** logN * r + 32 * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, logN, R, P);
  return ['scrypt', logN, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time check of a password against a stored hash. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (!logN || !r || !p || logN > 20) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  const actual = await derive(password, salt, logN, r, p);
  // timingSafeEqual throws on unequal lengths; derive always gives KEY_LENGTH bytes.
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * A hash of a random password at the given cost: logins for unknown users are checked
 * against it, so that they take as long as logins with a wrong password.
 */
export function dummyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(16).toString('hex'), logN);
}
