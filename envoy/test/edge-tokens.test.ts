// The edge checks tokens before a replica is bothered (jwt_authn in edge.yaml), run by the real
// Envoy (test-edge.ts) with a JWKS made as the install's is: on DELETE /user/<name> and POST
// /user/<name>/logout, a missing, forged, expired or foreign token is the edge's own 401 in the
// mesh's JSON error shape, and the upstream (a server of the test's, counting what reaches it)
// never sees it; a token the service issued goes through, Authorization and all.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import { SignJWT } from 'jose';
import {
  AUDIENCE,
  ISSUER,
  issueToken,
  loadTokenKeys,
  newTokenKeys,
} from '../../user-service/src/tokens.js';
import { LIFTED_LIMITS, limitsFromEnv } from '../../scripts/lib/edge-config.js';
import { DEFAULT_SETTINGS } from './edge-static.js';
import { startTestEdge, type TestEdge } from './test-edge.js';

const made = newTokenKeys();
const keys = loadTokenKeys(made.pem, made.jwks);
const otherMade = newTokenKeys();
const other = loadTokenKeys(otherMade.pem, otherMade.jwks);

let upstream: Server;
let edge: TestEdge;
/** What reached the upstream: method, path and the Authorization it carried. */
const reached: string[] = [];

test.before(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    reached.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamPort = (upstream.address() as { port: number }).port;
  // Limits lifted: the cases below come from one address, past a client's burst.
  edge = await startTestEdge({
    upstreamPort,
    jwks: made.jwks,
    settings: { ...DEFAULT_SETTINGS, limits: limitsFromEnv(LIFTED_LIMITS) },
  });
});

test.after.always(() => {
  edge?.stop();
  upstream?.close();
});

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({
  sub: 'ABC',
  name: 'alice',
  iss: ISSUER,
  aud: AUDIENCE,
  jti: 'j1',
  iat: now(),
  exp: now() + 600,
});

async function send(method: string, path: string, token?: string) {
  const r = await fetch(`${edge.url}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return {
    status: r.status,
    body: (await r.json()) as Record<string, unknown>,
    headers: r.headers,
  };
}

test.serial(
  'a token the service issued passes the edge, its Authorization forwarded',
  async (t) => {
    const { token } = await issueToken({ sub: 'ABC', name: 'alice' }, keys, 600);
    reached.length = 0;
    t.is((await send('DELETE', '/user/alice', token)).status, 200);
    t.is((await send('POST', '/user/alice/logout?scope=global', token)).status, 200);
    t.deepEqual(reached, [
      `DELETE /user/alice Bearer ${token}`,
      `POST /user/alice/logout?scope=global Bearer ${token}`,
    ]);
    // Routes that need no token are not checked: a bad one does not matter there, and a DELETE
    // of something that is no user is the service's to refuse (405), not the edge's 401.
    reached.length = 0;
    t.is((await send('GET', '/user/alice', 'not-a-token')).status, 200);
    t.is((await send('POST', '/user/alice/login', 'not-a-token')).status, 200);
    for (const path of [
      '/user/health',
      '/user/openapi.json',
      '/user/alice/login',
      '/user/.well-known/jwks.json',
    ])
      t.is((await send('DELETE', path)).status, 200, `DELETE ${path} goes to the service`);
    t.is(reached.length, 6);
  },
);

test.serial(
  'missing, forged, alg none, HS256, another key, expired, foreign: the edge answers 401 itself',
  async (t) => {
    const hs256 = `${part({ alg: 'HS256', typ: 'JWT', kid: keys.kid })}.${part(claims())}`;
    const badSignature = (await issueToken({ sub: 'ABC', name: 'alice' }, keys, 600)).token.replace(
      /\.[^.]+$/,
      `.${Buffer.alloc(64, 1).toString('base64url')}`,
    );
    const sign = (payload: object, key = keys) =>
      new SignJWT(payload as never)
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid })
        .sign(key.privateKey);
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['not a JWT', 'abc.def'],
      ['a bad signature', badSignature],
      ['alg none', `${part({ alg: 'none', typ: 'JWT' })}.${part(claims())}.`],
      [
        'HS256 keyed with the JWKS',
        `${hs256}.${createHmac('sha256', made.jwks).update(hs256).digest('base64url')}`,
      ],
      ['another key', (await issueToken({ sub: 'ABC', name: 'alice' }, other, 600)).token],
      [
        'another key under this kid',
        (await issueToken({ sub: 'ABC', name: 'alice' }, { ...other, kid: keys.kid }, 600)).token,
      ],
      [
        'expired (past the 60 s of skew)',
        await sign({ ...claims(), iat: now() - 900, exp: now() - 120 }),
      ],
      ['another issuer', await sign({ ...claims(), iss: 'https://example.com' })],
      ['another audience', await sign({ ...claims(), aud: 'another-api' })],
    ];
    reached.length = 0;
    for (const [what, token] of cases) {
      for (const [method, path] of [
        ['DELETE', '/user/alice'],
        ['POST', '/user/alice/logout'],
      ] as const) {
        const r = await send(method, path, token);
        t.true([401, 403].includes(r.status), `${what}, ${method}: ${r.status}`);
        t.is(r.body.ok, false, what);
        t.regex(String(r.body.error), /token/, what);
        t.regex(String(r.body.detail), /^jwt_authn_access_denied/, what);
      }
    }
    t.deepEqual(reached, [], 'none reached the upstream');
    // Counted where make stats and the compose suite read it.
    const stats = await (await fetch(`${edge.admin}/stats?filter=jwt_authn`)).text();
    t.regex(stats, new RegExp(`^http\\.edge\\.jwt_authn\\.denied: ${cases.length * 2}$`, 'm'));
    const none = await send('DELETE', '/user/alice');
    t.is(none.status, 401);
    t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    t.is(none.body.detail, 'jwt_authn_access_denied{Jwt_is_missing}');
  },
);
