// Input rules, each failure a 400 that names the field and says what is expected.
import { HttpError } from './errors.js';

/** Path words the API uses under /user/, which therefore cannot be usernames. */
export const RESERVED_USERNAMES = new Set(['health', 'login', 'openapi.json']);

const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

export function validateUsername(username: string): string {
  if (!USERNAME.test(username)) {
    throw new HttpError(
      400,
      'username must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_" or "-"',
    );
  }
  // "." and ".." would be rewritten by URL normalisation before they ever reached us.
  if (RESERVED_USERNAMES.has(username.toLowerCase()) || /^\.+$/.test(username)) {
    throw new HttpError(400, `"${username}" is reserved and cannot be a username`);
  }
  return username;
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** A string field of `min` to `max` Unicode characters (code points, as PostgreSQL counts). */
export function requireText(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): string {
  const value = Object.hasOwn(body, field) ? body[field] : undefined;
  if (value === undefined || value === null) throw new HttpError(400, `${field} is required`);
  if (typeof value !== 'string') throw new HttpError(400, `${field} must be a string`);
  // Lone surrogates cannot be stored as UTF-8, and PostgreSQL text cannot hold NUL.
  if (!value.isWellFormed() || value.includes('\u0000')) {
    throw new HttpError(400, `${field} must be valid Unicode text without NUL characters`);
  }
  const length = [...value].length;
  if (length < min || length > max)
    throw new HttpError(400, `${field} must be ${min} to ${max} characters long`);
  return value;
}
