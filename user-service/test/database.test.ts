// Which failures count as "database unavailable" (503, retried by the edge) and which are bugs (500).
import test from 'ava';
import { isUnavailable } from '../src/database.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('connection-level failures are "unavailable"', (t) => {
  for (const err of [
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    withCode('write EPIPE', 'EPIPE'),
    withCode('getaddrinfo ENOTFOUND postgres', 'ENOTFOUND'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    withCode('the database system is shutting down', '57P03'),
    withCode('canceling statement due to statement timeout', '57014'),
    withCode('too many connections', '53300'),
  ]) {
    t.true(isUnavailable(err), err.message);
  }
});

test('bugs and query errors are not "unavailable"', (t) => {
  for (const err of [
    new TypeError("Cannot read properties of undefined (reading 'uuid')"),
    new RangeError('Invalid array length'),
    new Error('Query values must be an array'),
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('syntax error at or near "SELEC"', '42601'),
  ]) {
    t.false(isUnavailable(err), err.message);
  }
  t.false(isUnavailable('a string'));
  t.false(isUnavailable(null));
});
