// Every row of the API table, success and each failure, against a real PostgreSQL.
import test from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { issueToken, loadTokenKeys, newTokenKeys } from '../src/tokens.js';
import { call, rawRequest, TEST_VERSION, TOKEN_KEYS, useService } from './helpers.js';

const fx = useService();

const user = (name: string) => `${fx.svc.url}/user/${name}`;
let counter = 0;
const uniqueName = (prefix: string) => `${prefix}${++counter}`;

async function createUser(name: string, password = 'correct horse battery') {
  const created = await call(user(name), {
    method: 'PUT',
    json: { fullname: `${name} Example`, password },
  });
  if (created.status !== 201)
    throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body;
}

async function login(name: string, password = 'correct horse battery') {
  return call(`${user(name)}/login`, { method: 'POST', json: { password } });
}

const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });

test('GET /user/health answers 200 with the replica identity', async (t) => {
  const r = await call(`${fx.svc.url}/user/health`);
  t.is(r.status, 200);
  t.like(r.body, { ok: true, msg: 'user health check OK' });
  t.is(typeof r.body.hostname, 'string');
  t.true('resolvedname' in r.body);
  t.truthy(r.headers.get('x-request-id'));
});

test('every answer names the version that served it: body, x-service-version header, log line', async (t) => {
  for (const [path, status] of [
    ['/user/health', 200],
    ['/user/nobody-here', 404],
    ['/user/a%20b', 400],
  ] as const) {
    const r = await call(`${fx.svc.url}${path}`);
    t.is(r.status, status, path);
    t.is(r.body.version, TEST_VERSION, path);
    t.is(r.headers.get('x-service-version'), TEST_VERSION, path);
  }
  const line = fx.svc.logs.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.path === '/user/nobody-here');
  t.is(line?.version, TEST_VERSION);
});

test('GET /user/health?deep=1 answers 200 when the database answers', async (t) => {
  const r = await call(`${fx.svc.url}/user/health?deep=1`);
  t.is(r.status, 200);
  t.like(r.body, { ok: true, msg: 'user health check OK; database OK' });
});

test('PUT creates a user: 201 with a 32-digit upper-case hex uuid and no secret', async (t) => {
  const r = await call(user('alice'), {
    method: 'PUT',
    json: { fullname: 'Alice Dodgson', password: 'alicerules' },
  });
  t.is(r.status, 201);
  t.like(r.body, { ok: true, username: 'alice', fullname: 'Alice Dodgson' });
  t.regex(String(r.body.uuid), /^[0-9A-F]{32}$/);
  t.is(r.headers.get('location'), '/user/alice');
  t.false(JSON.stringify(r.body).includes('alicerules'));
  t.false('password' in r.body);
  const stored = await fx.db.query<{ password: string }>(
    'SELECT password FROM users WHERE username = $1',
    ['alice'],
  );
  t.regex(stored.rows[0]!.password, /^scrypt\$10\$8\$1\$/);
});

test('PUT keeps any Unicode fullname up to 2048 characters', async (t) => {
  const name = uniqueName('unicode');
  const fullname = '😀'.repeat(2048);
  const r = await call(user(name), { method: 'PUT', json: { fullname, password: 'longenough' } });
  t.is(r.status, 201);
  t.is((await call(user(name))).body.fullname, fullname);
});

test('PUT answers 400 naming the missing or invalid field', async (t) => {
  const name = uniqueName('invalid');
  const cases: [unknown, RegExp][] = [
    [{ password: 'longenough' }, /fullname is required/],
    [{ fullname: 'X' }, /password is required/],
    [{ fullname: 42, password: 'longenough' }, /fullname must be a string/],
    [{ fullname: '', password: 'longenough' }, /fullname must be 1 to 2048/],
    [{ fullname: 'x'.repeat(2049), password: 'longenough' }, /fullname must be 1 to 2048/],
    [{ fullname: 'X', password: 'short' }, /password must be 8 to 256/],
    [{ fullname: 'X', password: 'p'.repeat(257) }, /password must be 8 to 256/],
    [{ fullname: 'X', password: ['longenough'] }, /password must be a string/],
    [{ fullname: 'nul\u0000here', password: 'longenough' }, /fullname must be valid Unicode/],
    [['not', 'an', 'object'], /body must be a JSON object/],
  ];
  for (const [json, error] of cases) {
    const r = await call(user(name), { method: 'PUT', json });
    t.is(r.status, 400, JSON.stringify(json).slice(0, 60));
    t.false(r.body.ok);
    t.regex(String(r.body.error), error);
  }
  t.is((await call(user(name))).status, 404, 'nothing was stored');
});

test('PUT answers 400 for an invalid or reserved username', async (t) => {
  for (const name of [
    'login',
    'LOGIN',
    'bad%20name',
    'x'.repeat(65),
    'semi%3Bcolon',
    '..%2E',
    'caf%C3%A9',
  ]) {
    const r = await call(user(name), {
      method: 'PUT',
      json: { fullname: 'X', password: 'longenough' },
    });
    t.is(r.status, 400, name);
    t.regex(String(r.body.error), /username|reserved/, name);
  }
  const longest = 'a'.repeat(64);
  t.is(
    (await call(user(longest), { method: 'PUT', json: { fullname: 'X', password: 'longenough' } }))
      .status,
    201,
  );
  t.is(
    (
      await call(user('a.b_c-D9'), {
        method: 'PUT',
        json: { fullname: 'X', password: 'longenough' },
      })
    ).status,
    201,
  );
});

test('PUT answers 409 when the name is taken, and keeps the first user', async (t) => {
  const name = uniqueName('taken');
  const first = await createUser(name);
  const r = await call(user(name), {
    method: 'PUT',
    json: { fullname: 'Impostor', password: 'different1' },
  });
  t.is(r.status, 409);
  t.like(r.body, { ok: false, error: `username "${name}" is taken` });
  t.like((await call(user(name))).body, { uuid: first.uuid, fullname: `${name} Example` });
});

test('PUT answers 413 for a body over the limit and 415 for a body that is not JSON', async (t) => {
  const name = uniqueName('limits');
  const big = await call(user(name), {
    method: 'PUT',
    json: { fullname: 'x'.repeat(70_000), password: 'longenough' },
  });
  t.is(big.status, 413);
  t.regex(String(big.body.error), /too large/);
  const form = await call(user(name), {
    method: 'PUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'fullname=x&password=longenough',
  });
  t.is(form.status, 415);
  t.regex(String(form.body.error), /Content-Type: application\/json/);
  const text = await call(user(name), {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
    body: '{}',
  });
  t.is(text.status, 415);
  t.is((await call(user(name))).status, 404);
});

test('GET /user/:name answers 200 with the user, 404 for an unknown one', async (t) => {
  const name = uniqueName('reader');
  const created = await createUser(name);
  const r = await call(user(name));
  t.is(r.status, 200);
  t.deepEqual(
    { ...r.body, hostname: 0, resolvedname: 0, version: 0 },
    {
      ok: true,
      username: name,
      uuid: created.uuid,
      fullname: `${name} Example`,
      hostname: 0,
      resolvedname: 0,
      version: 0,
    },
  );
  const missing = await call(user('nobody-here'));
  t.is(missing.status, 404);
  t.like(missing.body, { ok: false, error: 'no user named "nobody-here"' });
});

test('POST login answers 200 with a token; 401 alike for a wrong password and an unknown user', async (t) => {
  const name = uniqueName('login');
  const created = await createUser(name);
  const ok = await login(name);
  t.is(ok.status, 200);
  t.like(ok.body, { ok: true, username: name, uuid: created.uuid, fullname: `${name} Example` });
  t.is(ok.headers.get('cache-control'), 'no-store', 'no cache keeps the token');
  t.regex(String(ok.body.token), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const wrong = await login(name, 'wrong password');
  const unknown = await login('no-such-user');
  t.is(wrong.status, 401);
  t.is(unknown.status, 401);
  t.is(wrong.body.error, unknown.body.error);
  t.is((await login(name, '')).status, 401, 'any string is checked, the empty one too');
  t.is(wrong.headers.get('www-authenticate'), 'Bearer');
  t.false('token' in wrong.body);
  const missing = await call(`${user(name)}/login`, { method: 'POST', json: {} });
  t.is(missing.status, 400);
  t.regex(String(missing.body.error), /password is required/);
});

test("DELETE with the user's own token answers 200 and removes the user", async (t) => {
  const name = uniqueName('deleter');
  await createUser(name);
  const { token } = (await login(name)).body;
  const r = await call(user(name), { method: 'DELETE', headers: bearer(token) });
  t.is(r.status, 200);
  t.like(r.body, { ok: true, username: name });
  t.is((await call(user(name))).status, 404);
  t.is((await login(name)).status, 401);
});

test('DELETE answers 401 with no token, a forged one or an expired one', async (t) => {
  const name = uniqueName('guarded');
  const created = await createUser(name);
  const none = await call(user(name), { method: 'DELETE' });
  t.is(none.status, 401);
  t.regex(String(none.body.error), /Authorization: Bearer/);
  const other = newTokenKeys();
  const forged = await issueToken(
    { sub: String(created.uuid), name },
    loadTokenKeys(other.pem, other.jwks),
    3600,
  );
  t.is((await call(user(name), { method: 'DELETE', headers: bearer(forged.token) })).status, 401);
  const { token: expired } = await issueToken({ sub: String(created.uuid), name }, TOKEN_KEYS, -1);
  const r = await call(user(name), { method: 'DELETE', headers: bearer(expired) });
  t.is(r.status, 401);
  t.regex(String(r.body.error), /invalid or expired/);
  t.is(
    (await call(user(name), { method: 'DELETE', headers: { authorization: 'Basic abc' } })).status,
    401,
  );
  t.is((await call(user(name), { method: 'DELETE', headers: bearer('a.b.c') })).status, 401);
  t.is((await call(user(name))).status, 200, 'the user is still there');
});

test('GET /user/.well-known/jwks.json publishes the public keys; a login token verifies against them (jose)', async (t) => {
  const name = uniqueName('jwks');
  const created = await createUser(name);
  const r = await call(`${fx.svc.url}/user/.well-known/jwks.json`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /^application\/jwk-set\+json/);
  const keys = (r.body as { keys: Record<string, unknown>[] }).keys;
  t.deepEqual(
    keys.map((k) => Object.keys(k).sort()),
    [['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']],
    'public members only: no d',
  );
  const ok = await login(name);
  t.regex(String(ok.body.expires_at), /^\d{4}-\d\d-\d\dT/);
  const { payload, protectedHeader } = await jwtVerify(
    String(ok.body.token),
    createLocalJWKSet(r.body as never),
    { issuer: 'spiffe://appmesh/usersvc', audience: 'appmesh/user' },
  );
  t.is(protectedHeader.kid, String(keys[0]!.kid));
  t.is(payload.sub, String(created.uuid));
  t.is(payload.exp! - payload.iat!, 900);
  t.is(new Date(payload.exp! * 1000).toISOString(), String(ok.body.expires_at));
});

test('logout ends the token presented at once; other tokens of the user keep working', async (t) => {
  const name = uniqueName('logout');
  await createUser(name);
  const first = String((await login(name)).body.token);
  const second = String((await login(name)).body.token);
  const out = await call(`${user(name)}/logout`, { method: 'POST', headers: bearer(first) });
  t.is(out.status, 200);
  t.like(out.body, { ok: true, username: name, scope: 'local' });
  const again = await call(`${user(name)}/logout`, { method: 'POST', headers: bearer(first) });
  t.is(again.status, 401);
  t.regex(String(again.body.error), /revoked/);
  const del = await call(user(name), { method: 'DELETE', headers: bearer(first) });
  t.is(del.status, 401, 'a revoked token deletes nothing');
  t.is((await call(user(name))).status, 200);
  t.is((await call(user(name), { method: 'DELETE', headers: bearer(second) })).status, 200);
});

test('logout with scope=global ends every token of the user; a login afterwards works at once', async (t) => {
  const name = uniqueName('everywhere');
  await createUser(name);
  const tokens = [];
  for (let i = 0; i < 3; i++) tokens.push(String((await login(name)).body.token));
  const bad = await call(`${user(name)}/logout?scope=everything`, {
    method: 'POST',
    headers: bearer(tokens[0]),
  });
  t.is(bad.status, 400);
  t.regex(String(bad.body.error), /scope must be local/);
  const out = await call(`${user(name)}/logout?scope=global`, {
    method: 'POST',
    headers: bearer(tokens[0]),
  });
  t.is(out.status, 200);
  t.like(out.body, { scope: 'global' });
  for (const token of tokens) {
    const r = await call(user(name), { method: 'DELETE', headers: bearer(token) });
    t.is(r.status, 401);
  }
  // Within the same second as the cut-off too: the new token starts at it.
  const fresh = String((await login(name)).body.token);
  t.is((await call(user(name), { method: 'DELETE', headers: bearer(fresh) })).status, 200);
});

test("logout answers 401 without a token and 403 with another user's", async (t) => {
  const a = uniqueName('la');
  const b = uniqueName('lb');
  await createUser(a);
  await createUser(b);
  t.is((await call(`${user(a)}/logout`, { method: 'POST' })).status, 401);
  const token = String((await login(b)).body.token);
  const r = await call(`${user(a)}/logout`, { method: 'POST', headers: bearer(token) });
  t.is(r.status, 403);
  t.is((await call(`${user(b)}/logout`, { method: 'POST', headers: bearer(token) })).status, 200);
});

test("DELETE answers 403 for another user's token and 404 for no such user", async (t) => {
  const owner = uniqueName('owner');
  const other = uniqueName('other');
  await createUser(owner);
  await createUser(other);
  const { token } = (await login(other)).body;
  const r = await call(user(owner), { method: 'DELETE', headers: bearer(token) });
  t.is(r.status, 403);
  t.regex(String(r.body.error), new RegExp(`belongs to "${other}"`));
  t.is((await call(user(owner))).status, 200);
  const gone = await call(user('never-existed'), { method: 'DELETE', headers: bearer(token) });
  t.is(gone.status, 404);
});

test('a token stops working once its user is deleted, even if the name is created again', async (t) => {
  const name = uniqueName('reborn');
  await createUser(name);
  const { token } = (await login(name)).body;
  t.is((await call(user(name), { method: 'DELETE', headers: bearer(token) })).status, 200);
  await createUser(name);
  const r = await call(user(name), { method: 'DELETE', headers: bearer(token) });
  t.is(r.status, 401);
  t.regex(String(r.body.error), /no longer exists/);
  t.is((await call(user(name))).status, 200);
});

test('unknown paths answer 404 JSON; wrong methods 405 JSON with Allow', async (t) => {
  for (const path of ['/', '/users', '/user', '/user/alice/profile', '/favicon.ico']) {
    const r = await call(`${fx.svc.url}${path}`);
    t.is(r.status, 404, path);
    t.false(r.body.ok);
  }
  const patch = await call(user('alice'), { method: 'PATCH', json: {} });
  t.is(patch.status, 405);
  t.is(patch.body.ok, false);
  t.regex(patch.headers.get('allow') ?? '', /GET.*PUT.*DELETE|PUT.*GET.*DELETE/);
  const getLogin = await call(`${user('alice')}/login`);
  t.is(getLogin.status, 405);
  t.is(getLogin.headers.get('allow'), 'POST');
  const options = await call(user('alice'), { method: 'OPTIONS' });
  t.is(options.status, 200);
  t.regex(String(options.body.allow), /PUT/);
  const trace = await rawRequest(fx.svc.url, 'TRACE', '/user/alice');
  t.is(trace.status, 405, 'a method the router does not know is a 405 too, not a 501');
  t.regex(trace.headers.get('allow') ?? '', /GET/);
  t.truthy(trace.body.request_id, 'errors carry the request id');
});

test('/user/health is not a user: only GET and HEAD, and OPTIONS says so', async (t) => {
  const options = await call(`${fx.svc.url}/user/health`, { method: 'OPTIONS' });
  t.is(options.status, 200);
  t.is(options.body.allow, 'GET, HEAD, OPTIONS');
  for (const method of ['PUT', 'DELETE', 'POST']) {
    const r = await call(`${fx.svc.url}/user/health`, {
      method,
      json: { fullname: 'X', password: 'longenough' },
    });
    t.is(r.status, 405, method);
    t.is(r.headers.get('allow'), 'GET, HEAD, OPTIONS', method);
  }
});

test("GET /user/openapi.json serves the API's OpenAPI document; the name is reserved", async (t) => {
  const r = await call(`${fx.svc.url}/user/openapi.json`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /^application\/json/);
  t.is(r.body.openapi, '3.1.0');
  t.deepEqual(Object.keys(r.body.paths as object).sort(), [
    '/user/.well-known/jwks.json',
    '/user/health',
    '/user/openapi.json',
    '/user/{username}',
    '/user/{username}/login',
    '/user/{username}/logout',
  ]);
  t.is(
    (
      await call(`${fx.svc.url}/user/openapi.json`, {
        method: 'PUT',
        json: { fullname: 'X', password: 'longenough' },
      })
    ).status,
    405,
  );
  t.is(
    (
      await call(`${fx.svc.url}/user/OpenAPI.json`, {
        method: 'PUT',
        json: { fullname: 'X', password: 'longenough' },
      })
    ).status,
    400,
  );
  const upper = await call(`${fx.svc.url}/user/HEALTH`);
  t.is(
    upper.status,
    400,
    'paths are case-sensitive: HEALTH is a reserved username, not the health check',
  );
});
