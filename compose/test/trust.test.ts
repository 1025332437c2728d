// The trust boundary, end to end in real Docker: past the edge, nothing answers a caller that
// lacks the mesh's identity or holds the wrong one; no string in the repository signs a token
// the mesh accepts; and certificates rotate on a running mesh without a failed request.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import type { Report } from '../../scripts/stats/report.js';
import {
  AUDIENCE,
  ISSUER,
  issueToken,
  loadTokenKeys,
  newTokenKeys,
} from '../../user-service/src/tokens.js';
import {
  ADMIN,
  call,
  containers,
  edgeStat,
  fromNeighbour,
  healthyInEdge,
  HTTPS_PROBE,
  make,
  root,
  servingSerials,
  sh,
  statInside,
  steadyLoad,
} from './helpers.js';

const secrets = `${root}secrets`;
/** Certificates the mesh must refuse, made by the mesh's own CA tool: expired, and from another CA. */
const bad = mkdtempSync(`${tmpdir()}/bad-certs-`);

/** A counter summed over every running usersvc sidecar. */
const sidecarTotal = async (stat: string) =>
  (await Promise.all((await containers()).map((c) => statInside(c, stat)))).reduce(
    (a, b) => a + b,
    0,
  );

test.before(async () => {
  await make('up', 'N=2');
  await sh(`docker run --rm --network none -v ${secrets}:/secrets:ro -v ${bad}:/out --entrypoint bash usermesh/mesh-ca:latest -c '
    mesh-ca issue edge /out/expired -1 && mesh-ca new-ca /out/rogue-ca && mesh-ca issue edge /out/rogue 1 /out/rogue-ca'`);
});
test.after.always(async () => {
  await make('clean');
});

test.serial(
  'a container on appmesh with no identity: the sidecar, the edge admin and PostgreSQL refuse it',
  async (t) => {
    const noCert = await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_no_cert');
    const adminDenied = await edgeStat('admin_readonly.rbac.denied');
    const [sidecar, plaintext, admin] = await fromNeighbour<
      { status?: number; error?: string }[]
    >(`${HTTPS_PROBE}
    const plain = (url) => fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => ({ status: r.status }), (e) => ({ error: String(e.cause?.code ?? e) }));
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health'), await plain('http://usersvc:8080/user/health'), await plain('http://edge:8001/clusters')]));
  `);
    t.truthy(sidecar?.error, `TLS without a client certificate: ${JSON.stringify(sidecar)}`);
    t.truthy(plaintext?.error, `plain HTTP to a sidecar: ${JSON.stringify(plaintext)}`);
    t.truthy(admin?.error, `the edge's admin window from appmesh: ${JSON.stringify(admin)}`);
    t.true(
      (await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_no_cert')) > noCert,
      'the sidecar counts the handshake it refused',
    );
    t.true(
      (await edgeStat('admin_readonly.rbac.denied')) > adminDenied,
      'the edge counts the admin connection it cut',
    );
    t.is((await fetch(`${ADMIN}/ready`)).status, 200, 'while the host still reads it on 127.0.0.1');

    // PostgreSQL, with the right password: the mesh port wants mutual TLS, the server itself
    // listens on its container's loopback only.
    const psql = (port: number, sslmode: string) =>
      sh(
        `docker run --rm --network appmesh --user 0 -v ${secrets}/usersvc:/id:ro --entrypoint bash usermesh/postgres:latest -c \
      'PGPASSWORD=$(cat /id/db_password) PGCONNECT_TIMEOUT=5 psql "host=postgres port=${port} user=usersvc dbname=users sslmode=${sslmode}" -tAc "select 42" 2>&1; echo "exit $?"'`,
        60_000,
      );
    for (const [port, sslmode] of [
      [5432, 'disable'],
      [5432, 'require'],
      [5433, 'disable'],
    ] as const) {
      const out = await psql(port, sslmode);
      t.regex(out, /exit [1-9]/, `port ${port}, sslmode ${sslmode}: ${out}`);
      t.notRegex(out, /^42$/m);
    }
    const [postgres] = await containers('postgres');
    const control = await sh(
      `docker exec ${postgres} bash -c 'PGPASSWORD=$(cat /run/secrets/postgres_usersvc_password) psql -h 127.0.0.1 -U usersvc -d users -tAc "select 42"'`,
    );
    t.is(control.trim(), '42', 'the password used above is the right one');
  },
);

test.serial(
  'a valid certificate of another identity: the sidecar answers 403, PostgreSQL closes the connection',
  async (t) => {
    const denied = await sidecarTotal('http.ingress.rbac.denied');
    const [postgres] = await containers('postgres');
    const pgDenied = await statInside(postgres!, 'postgres.rbac.denied');
    const [asUsersvc, asEdge, pgAsEdge, pgAsUsersvc] = await fromNeighbour<
      { status?: number; body?: string; handshake?: boolean; bytes?: number }[]
    >(
      `${HTTPS_PROBE}
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health', '/usersvc'), await get('https://usersvc:8080/user/health', '/edge'), await pg('/edge'), await pg('/usersvc')]));`,
      { [`${secrets}/usersvc`]: '/usersvc', [`${secrets}/edge`]: '/edge' },
    );
    t.is(
      asUsersvc?.status,
      403,
      `usersvc's identity calling a usersvc sidecar: ${JSON.stringify(asUsersvc)}`,
    );
    t.regex(asUsersvc?.body ?? '', /RBAC/);
    t.is(asEdge?.status, 200, 'the edge identity is let in: the probe itself works');
    t.deepEqual(
      pgAsEdge,
      { handshake: true, bytes: 0 },
      "the edge identity completes TLS, then PostgreSQL's sidecar closes without a byte",
    );
    t.true(
      (pgAsUsersvc?.bytes ?? 0) > 0,
      'the usersvc identity reaches PostgreSQL: the probe itself works',
    );
    t.true((await sidecarTotal('http.ingress.rbac.denied')) > denied);
    t.true((await statInside(postgres!, 'postgres.rbac.denied')) > pgDenied);
  },
);

test.serial(
  'an expired or wrong-CA certificate is a refused, counted handshake; nothing crashes',
  async (t) => {
    const before = await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_error');
    const results = await fromNeighbour<{ status?: number; error?: string }[]>(
      `${HTTPS_PROBE}
    console.log(JSON.stringify([await get('https://usersvc:8080/user/health', '/bad/expired'), await get('https://usersvc:8080/user/health', '/bad/rogue')]));`,
      { [bad]: '/bad' },
    );
    for (const r of results) t.truthy(r.error, JSON.stringify(r));
    t.true(
      (await sidecarTotal('listener.0.0.0.0_8080.ssl.fail_verify_error')) >= before + 2,
      'both counted as failed verifications',
    );
    t.is(await healthyInEdge(), 2, 'every replica still healthy');
    t.is((await call('/user/health')).status, 200);

    // make stats shows it: refusals per sidecar, and when each certificate expires (within a day).
    const report = JSON.parse(await make('stats', 'ARGS=--json')) as Report;
    const trust = report.replicas.map((r) => r.sidecar!.trust);
    t.true(trust.reduce((n, x) => n + x.tlsRefused, 0) >= 3, JSON.stringify(trust));
    t.true(trust.reduce((n, x) => n + x.rbacDenied, 0) >= 1, JSON.stringify(trust));
    const now = Date.now() / 1000;
    for (const at of [report.edge.certExpiresAt, ...trust.map((x) => x.certExpiresAt)])
      t.true(at !== null && at > now && at <= now + 86_400 + 60, String(at));
  },
);

/** A JWT as the mesh's tokens are, signed HS256 with `secret`: what a forger would try. */
function forgeHs256(claims: Record<string, unknown>, kid: string, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT', kid })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

test.serial(
  'no string in the repository, nor an empty or short secret, the public key, alg none or another key signs a token the mesh accepts: the edge refuses them all',
  async (t) => {
    t.is(
      (
        await call('/user/mallory', {
          method: 'PUT',
          json: { fullname: 'Mallory', password: 'mallory-rules' },
        })
      ).status,
      201,
    );
    const victim = await call('/user/mallory');
    const sub = String(victim.body.uuid);

    // Every line, word and quoted string of every version of every file in the history.
    const history = execFileSync('git', ['log', '-p', '--all'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const candidates = new Set<string>(['', 'a', 'secret', 'changeme', 'x'.repeat(31)]);
    for (const raw of history.split('\n')) {
      const line = raw.replace(/^[+ -]/, '').trim();
      candidates.add(line);
      for (const word of line.split(/\s+/)) candidates.add(word);
      for (const word of line.split(/[^A-Za-z0-9._~+/=@#%^&*!?-]+/))
        candidates.add(word.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, ''));
      for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|`([^`]*)`/g))
        candidates.add(m[1] ?? m[2] ?? m[3] ?? '');
    }
    t.true(
      candidates.has('test-secret-that-is-at-least-32-characters-long'),
      'the old test secret is among them',
    );
    t.true(
      candidates.has('dev-only-token-secret-change-me-0123456789'),
      'and the old compose default',
    );

    // The published keys: the kid a forger would name, and the public key as an HMAC secret.
    const jwks = (await call('/user/.well-known/jwks.json')).body as { keys: { kid: string }[] };
    const kid = jwks.keys[0]!.kid;
    candidates.add(JSON.stringify(jwks));
    candidates.add(JSON.stringify(jwks.keys[0]));
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub,
      name: 'mallory',
      iss: ISSUER,
      aud: AUDIENCE,
      jti: 'forged',
      iat: now,
      exp: now + 600,
    };
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const other = newTokenKeys();
    const otherKeys = loadTokenKeys(other.pem, other.jwks);
    const tokens = [
      ...[...candidates].map((secret) => forgeHs256(claims, kid, secret)),
      `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`,
      (await issueToken({ sub, name: 'mallory' }, otherKeys, 600)).token,
      (await issueToken({ sub, name: 'mallory' }, { ...otherKeys, kid }, 600)).token,
    ];

    const statuses = new Map<string, number>();
    const deniedBefore = await edgeStat('http.edge.jwt_authn.denied');
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let token = tokens.pop(); token !== undefined; token = tokens.pop()) {
          const r = await fetch('http://127.0.0.1:8000/user/mallory', {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}` },
          });
          // Who refused: the edge's jwt_authn says so in detail; a replica never saw it.
          const body = (await r.json()) as { detail?: string };
          const who = `${r.status} ${String(body.detail).split('{')[0]}`;
          statuses.set(who, (statuses.get(who) ?? 0) + 1);
        }
      }),
    );
    t.log(`${candidates.size + 3} forged tokens: ${JSON.stringify(Object.fromEntries(statuses))}`);
    t.deepEqual([...statuses.keys()], ['401 jwt_authn_access_denied']);
    t.true(
      (await edgeStat('http.edge.jwt_authn.denied')) - deniedBefore >= candidates.size + 3,
      'each counted by the edge',
    );
    t.is((await call('/user/mallory')).status, 200, 'mallory is still there');

    // The real token does delete: the forged ones failed for their signature, not for the route.
    const login = await call('/user/mallory/login', {
      method: 'POST',
      json: { password: 'mallory-rules' },
    });
    t.is(
      (
        await call('/user/mallory', {
          method: 'DELETE',
          headers: { authorization: `Bearer ${String(login.body.token)}` },
        })
      ).status,
      200,
    );
  },
);

test.serial(
  'the renewer (compose service mesh-ca) has no network, and renews due certificates on the running mesh',
  async (t) => {
    const [renewer] = await containers('mesh-ca');
    t.truthy(renewer, 'the renewer runs beside the mesh');
    t.is((await sh(`docker inspect -f '{{.HostConfig.NetworkMode}}' ${renewer}`)).trim(), 'none');
    const proxies = [...(await containers('edge')), ...(await containers('usersvc'))];
    const before = await Promise.all(proxies.map(servingSerials));
    // What its hourly pass does when certificates are past half their life; here every one is "due".
    const out = await sh(`docker exec -e RENEW_BEFORE=999999999 ${renewer} mesh-ca renew`);
    // One new certificate per identity the mesh CA issues, and the edge's own for HTTPS.
    const renewed = out
      .trim()
      .split('\n')
      .map((line) => /^mesh-ca: (\S+): certificate/.exec(line)?.[1]);
    t.deepEqual(
      renewed.sort(),
      ['edge', 'edge-public', 'observe', 'postgres', 'prometheus', 'usersvc'],
      out,
    );
    const deadline = Date.now() + 20_000;
    let after = before;
    while (
      Date.now() < deadline &&
      after.some((serials, i) => serials.some((x) => before[i]!.includes(x)))
    )
      after = await Promise.all(proxies.map(servingSerials));
    after.forEach((serials, i) =>
      t.false(
        serials.some((x) => before[i]!.includes(x)),
        `${proxies[i]} presents a renewed certificate`,
      ),
    );
    t.is((await call('/user/health')).status, 200);
  },
);

test.serial(
  'make rotate-certs under steady load: 0 failed, and every proxy then presents its new certificate',
  async (t) => {
    const proxies = [
      ...(await containers('usersvc')),
      ...(await containers('edge')),
      ...(await containers('postgres')),
    ];
    const before = new Map(
      await Promise.all(proxies.map(async (c) => [c, await servingSerials(c)] as const)),
    );
    const load = steadyLoad('/user/health');
    await make('rotate-certs');
    // Give the sidecars and the database's a moment to swap too: wait until every proxy serves
    // a certificate it did not before, polling for up to 20 s, while the load keeps going.
    const deadline = Date.now() + 20_000;
    let changed: boolean[] = [];
    do {
      changed = await Promise.all(
        proxies.map(async (c) =>
          (await servingSerials(c)).every((s) => !before.get(c)!.includes(s)),
        ),
      );
    } while (!changed.every(Boolean) && Date.now() < deadline);
    const { total, failures } = await load.stop();
    t.log(`${total} requests through the edge during the rotation, ${failures.length} failed`);
    t.true(total > 50);
    t.deepEqual(failures, []);
    t.deepEqual(
      changed,
      proxies.map(() => true),
      'every proxy presents a new certificate',
    );

    // A replica started after the rotation gets the new certificate too.
    await make('scale', 'N=3');
    const now = await servingSerials(proxies[0]!);
    const newest = (await containers('usersvc')).find((c) => !proxies.includes(c))!;
    t.deepEqual(await servingSerials(newest), now);
    // And the database's data path still works end to end (usersvc -> postgres over the new certificates).
    t.is(
      (
        await call('/user/rotated', {
          method: 'PUT',
          json: { fullname: 'After Rotation', password: 'rotated-pass' },
        })
      ).status,
      201,
    );
  },
);

/** The kid a token's header names. */
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

/** A token's claims as PyJWT (a JWT library not ours, ci.sh installs it) checks them against `jwks`. */
function pyjwtDecode(token: string, jwks: unknown): Record<string, unknown> {
  const script = `
import json, os, jwt
keys = jwt.PyJWKSet.from_dict(json.loads(os.environ["JWKS"]))
token = os.environ["TOKEN"]
key = next(k for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
print(json.dumps(jwt.decode(token, key.key, algorithms=["ES256"], audience="appmesh/user",
                            issuer="spiffe://appmesh/usersvc")))`;
  return JSON.parse(
    execFileSync(`${root}.cache/pyjwt-2.10.1/bin/python`, ['-c', script], {
      env: { JWKS: JSON.stringify(jwks), TOKEN: token },
      encoding: 'utf8',
    }),
  ) as Record<string, unknown>;
}

test.serial(
  'logout: the token is refused by every replica at once, and by the edge-checked routes; PyJWT verifies a login token against the published JWKS',
  async (t) => {
    await call('/user/leaver', {
      method: 'PUT',
      json: { fullname: 'Leaver', password: 'leaver-pass' },
    });
    const login = await call('/user/leaver/login', {
      method: 'POST',
      json: { password: 'leaver-pass' },
    });
    const token = String(login.body.token);
    const jwks = (await call('/user/.well-known/jwks.json')).body;
    t.like(pyjwtDecode(token, jwks), { sub: login.body.uuid, name: 'leaver' });
    const auth = { authorization: `Bearer ${token}` };
    t.is((await call('/user/leaver/logout', { method: 'POST', headers: auth })).status, 200);
    // Each replica in turn (the edge balances them): every one refuses it, none deletes.
    const seen = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const r = await call('/user/leaver', { method: 'DELETE', headers: auth });
      seen.set(`${r.status} ${String(r.body.hostname)} ${String(r.body.error)}`, 1);
    }
    t.log([...seen.keys()].join('\n'));
    const replicas = await containers('usersvc');
    t.is(seen.size, replicas.length, 'one answer per replica');
    for (const line of seen.keys()) t.regex(line, /^401 .* the token was revoked/);
    t.is((await call('/user/leaver')).status, 200, 'still there');
  },
);

test.serial(
  'make rotate-keys under steady load: 0 failed logins or token checks; old tokens stay valid, new ones name the new key',
  async (t) => {
    const password = 'rotor-password';
    t.is(
      (await call('/user/rotor', { method: 'PUT', json: { fullname: 'Rotor', password } })).status,
      201,
    );
    const login = async () => call('/user/rotor/login', { method: 'POST', json: { password } });
    const first = String((await login()).body.token);
    const oldKid = kidOf(first);
    // A token is checked by the edge and a replica, and found good, when DELETE of a user that
    // does not exist answers 404 (401: refused). Tokens from logins made during the rotation
    // join the ones checked: signed by old replicas and new, checked by old edges and new.
    const tokens = [first];
    const failures: string[] = [];
    let running = true;
    let probes = 0;
    let logins = 0;
    const prober = async () => {
      while (running) {
        const token = tokens[probes++ % tokens.length]!;
        const r = await call('/user/no-such-rotor', {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        }).catch((err: unknown) => ({ status: 0, body: { error: String(err) } }));
        if (r.status !== 404)
          failures.push(`check of ${kidOf(token)}: ${r.status} ${String(r.body.error)}`);
      }
    };
    const loginer = async () => {
      while (running) {
        const started = Date.now();
        const r = await login().catch((err: unknown) => ({
          status: 0,
          body: { error: String(err), token: '' },
        }));
        logins++;
        if (r.status === 200) tokens.push(String(r.body.token));
        else failures.push(`login: ${r.status} ${String(r.body.error)}`);
        // Paced under the edge's per-client limit on hashing routes (1 a second).
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, 1200 - (Date.now() - started))),
        );
      }
    };
    const loops = [prober(), prober(), loginer()];
    const rotated = make('rotate-keys');
    await rotated.finally(() => (running = false));
    await Promise.all(loops);
    t.log(
      `${probes} token checks and ${logins} logins during the rotation; ${failures.length} failed`,
    );
    t.deepEqual(failures, []);
    t.true(probes > 50 && logins >= 3, `${probes} checks, ${logins} logins`);

    const fresh = String((await login()).body.token);
    t.not(kidOf(fresh), oldKid, 'new tokens are signed with the new key');
    const jwks = (await call('/user/.well-known/jwks.json')).body as { keys: { kid: string }[] };
    const kids = jwks.keys.map((k) => k.kid);
    t.true(kids.includes(oldKid) && kids.includes(kidOf(fresh)), 'both keys published');
    t.like(
      pyjwtDecode(first, jwks),
      { name: 'rotor' },
      'the old token verifies against the new JWKS',
    );
    // Both keys' tokens pass the edge and a replica (404: no such user, the token was good).
    for (const token of [first, fresh]) {
      const r = await call('/user/no-such-rotor', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      t.is(r.status, 404, `${kidOf(token)}: ${String(r.body.error)}`);
    }
    const gone = await call('/user/rotor', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${first}` },
    });
    t.is(gone.status, 200, "the old key's token deletes its user");
  },
);
