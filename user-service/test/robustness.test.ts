// Nothing a client sends may produce a 500, crash the process, or change stored data, and
// no secret may reach a response or a log line.
import test from 'ava';
import { call, rawRequest, useService } from './helpers.js';

const fx = useService();

const snapshot = async () =>
  (await fx.db.query('SELECT uuid, username, fullname, password FROM users ORDER BY uuid')).rows;

test.serial(
  'a "__proto__" key in a body is dropped, like any field the API does not know: the request is served, nothing polluted',
  async (t) => {
    const body =
      '{"__proto__": {"isAdmin": true}, "fullname": "Proto", "password": "longenough", "extra": 1}';
    const r = await rawRequest(
      fx.svc.url,
      'PUT',
      '/user/proto',
      { 'content-type': 'application/json' },
      body,
    );
    t.is(r.status, 201, JSON.stringify(r.body));
    t.is(r.body.fullname, 'Proto');
    t.false('isAdmin' in r.body);
    t.is(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched');
    const login = await rawRequest(
      fx.svc.url,
      'POST',
      '/user/proto/login',
      { 'content-type': 'application/json' },
      '{"password": "longenough", "__proto__": {"x": 1}}',
    );
    t.is(login.status, 200, JSON.stringify(login.body));
  },
);

test.serial('hostile requests get a 4xx JSON error and leave the data unchanged', async (t) => {
  t.is(
    (
      await call(`${fx.svc.url}/user/keeper`, {
        method: 'PUT',
        json: { fullname: 'Keeper', password: 'keeperpass' },
      })
    ).status,
    201,
  );
  const before = await snapshot();
  const json = { 'content-type': 'application/json' };
  const cases: [string, string, Record<string, string>, string | Buffer | undefined][] = [
    ['PUT', '/user/keeper', json, '{"fullname": "X", "password": '],
    ['PUT', '/user/keeper', json, '{"fullname": "Keeper", "password": "keeperpass"} trailing'],
    ['PUT', '/user/newbie', json, '"just a string"'],
    ['PUT', '/user/newbie', json, 'null'],
    ['PUT', '/user/newbie', json, '[]'],
    ['PUT', '/user/newbie', json, '{"fullname": "\\ud800", "password": "longenough"}'],
    ['PUT', '/user/newbie', json, '{"__proto__": {"fullname": "P"}, "password": "longenough"}'],
    ['PUT', '/user/newbie', json, '{"constructor": {"prototype": {}}, "password": "longenough"}'],
    ['PUT', '/user/newbie', json, Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
    ['PUT', '/user/newbie', { ...json, 'content-encoding': 'br' }, '{}'],
    ['PUT', '/user/newbie', { 'content-type': 'application/json; charset=latin1' }, '{}'],
    ['PUT', '/user/newbie', {}, undefined],
    ['PUT', '/user/%E0%A4%A', json, '{"fullname": "X", "password": "longenough"}'],
    ['PUT', '/user/%', json, '{"fullname": "X", "password": "longenough"}'],
    ['PUT', '/user/%00', json, '{"fullname": "X", "password": "longenough"}'],
    ['GET', '/user/%FF', {}, undefined],
    ['GET', '/user/..%2F..%2Fetc', {}, undefined],
    ['DELETE', '/user/keeper', { authorization: 'Bearer ' + 'A'.repeat(10_000) }, undefined],
    ['DELETE', '/user/keeper', { authorization: 'Bearer x.y' }, undefined],
    [
      'DELETE',
      '/user/keeper',
      { authorization: 'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGpzb24.AAAA' },
      undefined,
    ],
    ['POST', '/user/keeper/login', json, '{"password": {"$ne": null}}'],
    ['POST', '/user/keeper/login', json, '{"password": "' + 'p'.repeat(300) + '"}'],
    ['POST', '/user/keeper/login', { 'content-type': 'text/plain' }, 'keeperpass'],
    ['POST', '/user/keeper/login', json, '{bad json'],
    ['TRACE', '/user/keeper', {}, undefined],
  ];
  for (const [method, path, headers, body] of cases) {
    const label = `${method} ${path} ${String(body).slice(0, 40)}`;
    const r = await rawRequest(fx.svc.url, method, path, headers, body);
    t.true(r.status >= 400 && r.status < 500, `${label} -> ${r.status} ${JSON.stringify(r.body)}`);
    t.is(r.body.ok, false, label);
    t.is(typeof r.body.error, 'string', label);
    t.not(r.body.error, 'bad request', `${label}: a generic message`);
  }
  t.deepEqual(await snapshot(), before, 'stored data is unchanged');
  t.is((await call(`${fx.svc.url}/user/health`)).status, 200, 'the service still answers');
});

test.serial(
  'logs carry method, path, status, duration and request id, and no secret',
  async (t) => {
    const password = 'secret-password-123';
    const put = await call(`${fx.svc.url}/user/secretive`, {
      method: 'PUT',
      json: { fullname: 'S', password },
      headers: { 'x-request-id': 'req-from-envoy-1' },
    });
    t.is(put.status, 201);
    t.is(put.headers.get('x-request-id'), 'req-from-envoy-1');
    const { token } = (
      await call(`${fx.svc.url}/user/secretive/login`, { method: 'POST', json: { password } })
    ).body;
    t.is(
      (
        await call(`${fx.svc.url}/user/secretive/login`, {
          method: 'POST',
          json: { password: 'wrong-password-456' },
        })
      ).status,
      401,
    );
    const hash = (
      await fx.db.query<{ password: string }>(
        "SELECT password FROM users WHERE username = 'secretive'",
      )
    ).rows[0]!.password;
    t.is(
      (
        await call(`${fx.svc.url}/user/secretive`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${String(token)}` },
        })
      ).status,
      200,
    );

    const requestLine = fx.svc.logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === 'req-from-envoy-1');
    t.like(requestLine, { msg: 'request', method: 'PUT', path: '/user/secretive', status: 201 });
    t.is(typeof requestLine?.durationMs, 'number');
    const logs = fx.svc.logs.text;
    for (const secret of [
      password,
      'wrong-password-456',
      String(token),
      hash,
      hash.split('$')[5]!,
    ]) {
      t.false(logs.includes(secret), `a secret (${secret.slice(0, 6)}...) reached the log`);
    }
  },
);
